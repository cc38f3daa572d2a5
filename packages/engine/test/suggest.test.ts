import t from 'tap';
import { didYouMean, editDistance, nearestName } from '../src/suggest.js';

t.test('edit distance: insertions, deletions, substitutions and swaps of neighbours cost 1', async (t) => {
  t.equal(editDistance('wrapper', 'wrapper'), 0);
  t.equal(editDistance('wraper', 'wrapper'), 1, 'a letter left out');
  t.equal(editDistance('wrappper', 'wrapper'), 1, 'a letter too many');
  t.equal(editDistance('wrapoer', 'wrapper'), 1, 'a wrong letter');
  t.equal(editDistance('wrpaper', 'wrapper'), 1, 'two letters swapped');
  t.equal(editDistance('', 'abc'), 3);
  t.equal(editDistance('kitten', 'sitting'), 3);
});

t.test('a name is suggested only when it is close', async (t) => {
  const types = ['wrapper', 'process', 'package', 'mysql-database', 'tomcat-webapplication'];
  t.equal(nearestName('wraper', types), 'wrapper');
  t.equal(nearestName('Wrapper', types), 'wrapper', 'case is ignored when measuring');
  t.equal(nearestName('mysql-databse', types), 'mysql-database');
  t.equal(nearestName('procss', types), 'process');
  t.equal(nearestName('wrapper', types), undefined, 'an exact match is not unknown');
  t.equal(nearestName('nosuchtype', types), undefined, 'nothing close');
  t.equal(nearestName('wrp', types), undefined, 'a short name may be only 1 off (wrp is 4 from wrapper)');
  t.equal(nearestName('pakage', types), 'package', 'pakage is 1 from package and 2 from process');
  t.equal(nearestName('ab', ['ax', 'ay']), undefined, 'two as near: neither is suggested');
  t.equal(nearestName('test3', ['test1', 'test2']), undefined, 'test3 among test1 and test2: a target not there yet');
  t.equal(nearestName('tset1', ['test1', 'test2']), 'test1', 'swapped letters are 1 from test1, 2 from test2');
  t.equal(nearestName('abcdefghi', ['abcdefxyz']), undefined, 'three edits are too many, even for a long name');
  t.equal(didYouMean('wraper', types), ': did you mean "wrapper"?');
  t.equal(didYouMean('zzz', types), '');
  t.equal(didYouMean('--dry-rn', ['--dry-run'], (o) => `'${o}'`), ": did you mean '--dry-run'?");
});
