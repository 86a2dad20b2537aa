import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMON_ACTION_DEFAULTS, DOCKER_CONTAINER_DEFAULTS, type ActionSettings } from '../domain/action.ts';
import {
  conditionsHold,
  containerCommand,
  parallelGroups,
  runsInFinalPhase,
  splitWords,
} from './action-plan.ts';

const settings = (runNext: ActionSettings['run_next']): ActionSettings =>
  ({ ...COMMON_ACTION_DEFAULTS, ...DOCKER_CONTAINER_DEFAULTS, run_next: runNext }) as ActionSettings;

test('parallel run_next joins an action with the next one', () => {
  const actions = [
    { id: 'a', actionId: 1, status: 'INITIAL', settings: settings('IN_SOFT_PARALLEL') },
    { id: 'b', actionId: 2, status: 'INITIAL', settings: settings('WAIT_ON_SUCCESS') },
    { id: 'c', actionId: 3, status: 'INITIAL', settings: settings('WAIT_ON_SUCCESS') },
  ];
  assert.deepEqual(
    parallelGroups(actions).map((g) => g.map((a) => a.id)),
    [['a', 'b'], ['c']],
  );
});

test('an approval gate is a group of its own whatever run_next says', () => {
  const actions = [
    { id: 'a', actionId: 1, status: 'INITIAL', settings: settings('IN_SOFT_PARALLEL') },
    { id: 'gate', actionId: 2, status: 'INITIAL', settings: settings('IN_HARD_PARALLEL') },
    { id: 'b', actionId: 3, status: 'INITIAL', settings: settings('WAIT_ON_SUCCESS') },
  ];
  assert.deepEqual(
    parallelGroups(actions, (a) => a.id === 'gate').map((g) => g.map((a) => a.id)),
    [['a'], ['gate'], ['b']],
  );
});

test('entrypoint decision', () => {
  assert.deepEqual(containerCommand('/bin/sh', 'ls -al > ls.log'), {
    entrypoint: ['/bin/sh'],
    cmd: ['-c', 'exec 2>&1\nls -al > ls.log'],
  });
  assert.deepEqual(containerCommand(null, 'echo hi'), { cmd: ['sh', '-c', 'exec 2>&1\necho hi'] });
  assert.deepEqual(containerCommand('/bin/echo', 'a "b c"'), {
    entrypoint: ['/bin/echo'],
    cmd: ['a', 'b c'],
  });
  assert.deepEqual(splitWords(` x  'y z' "" `), ['x', 'y z', '']);
});

test('trigger conditions and final phases', () => {
  const vars = new Map([['ENV', 'production']]);
  assert.equal(
    conditionsHold(
      [{ trigger_condition: 'VAR_IS', trigger_variable_key: 'ENV', trigger_variable_value: 'production' }],
      [],
      vars,
    ),
    true,
  );
  assert.equal(
    conditionsHold(
      [{ trigger_condition: 'ON_CHANGE_AT_PATH', trigger_condition_paths: ['/src'] }],
      ['docs/a.md'],
      vars,
    ),
    false,
  );
  assert.equal(
    conditionsHold(
      [{ trigger_condition: 'ON_CHANGE_AT_PATH', trigger_condition_paths: ['src/'] }],
      ['src/a.ts'],
      vars,
    ),
    true,
  );
  assert.equal(runsInFinalPhase('ON_FAILURE', false, null), true);
  assert.equal(runsInFinalPhase('ON_BACK_TO_SUCCESS', true, 'SUCCESSFUL'), false);
  assert.equal(runsInFinalPhase('ON_BACK_TO_SUCCESS', true, 'FAILED'), true);
});
