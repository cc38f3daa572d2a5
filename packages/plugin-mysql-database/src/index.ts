import { definePlugin } from '@dysnomia/engine';

// Being written (issue 3).
export default definePlugin({
  type: 'mysql-database',
  engine: '^1.0.0',
  activate() {
    throw new Error('the mysql-database plugin is not implemented yet');
  },
  deactivate() {
    throw new Error('the mysql-database plugin is not implemented yet');
  },
});
