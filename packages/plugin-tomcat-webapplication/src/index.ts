import { definePlugin } from '@dysnomia/engine';

// Being written (issue 3).
export default definePlugin({
  type: 'tomcat-webapplication',
  engine: '^1.0.0',
  activate() {
    throw new Error('the tomcat-webapplication plugin is not implemented yet');
  },
  deactivate() {
    throw new Error('the tomcat-webapplication plugin is not implemented yet');
  },
});
