import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeCondition, type ConditionInput } from './pipeline-events.ts';
import { hourAndDay, unmetTriggerCondition, type ConditionFacts } from './trigger-conditions.ts';

// Tuesday 2026-12-01 10:30 UTC = 04:30 in America/Monterrey (UTC-6).
const TUESDAY_1030_UTC = Date.parse('2026-12-01T10:30:00Z');

const facts = (over: Partial<ConditionFacts> = {}): ConditionFacts => ({
  changedPaths: ['src/app.ts', 'README.md'],
  variables: new Map([['ENV', 'production-eu']]),
  nowMs: TUESDAY_1030_UTC,
  pipelineStatuses: new Map([
    ['site/build', 'SUCCESSFUL'],
    ['site/lint', 'FAILED'],
  ]),
  user: { email: 'Mike@Company.com', groups: new Set(['devs']) },
  ...over,
});

const check = (c: ConditionInput, f: ConditionFacts = facts()): string | null =>
  unmetTriggerCondition([normalizeCondition(c)], f);

test('ON_CHANGE holds when paths changed or there is no base, not for an empty changeset', () => {
  assert.equal(check({ trigger_condition: 'ON_CHANGE' }), null);
  assert.equal(check({ trigger_condition: 'ON_CHANGE' }, facts({ changedPaths: null })), null);
  assert.match(check({ trigger_condition: 'ON_CHANGE' }, facts({ changedPaths: [] }))!, /nothing changed/);
});

test('ON_CHANGE_AT_PATH matches a directory or file, with or without slashes, and nothing else', () => {
  for (const p of ['src', '/src/', 'src/app.ts', 'README.md'])
    assert.equal(check({ trigger_condition: 'ON_CHANGE_AT_PATH', trigger_condition_paths: [p] }), null, p);
  for (const p of ['sr', 'docs', 'src/app'])
    assert.match(
      check({ trigger_condition: 'ON_CHANGE_AT_PATH', trigger_condition_paths: [p] })!,
      /ON_CHANGE_AT_PATH/,
      p,
    );
});

test('VAR_IS / IS_NOT / CONTAINS / NOT_CONTAINS compare the variable the run would see', () => {
  const v = (trigger_condition: ConditionInput['trigger_condition'], value: string) =>
    check({ trigger_condition, trigger_variable_key: 'ENV', trigger_variable_value: value });
  assert.equal(v('VAR_IS', 'production-eu'), null);
  assert.match(v('VAR_IS', 'production')!, /ENV is "production-eu", not "production"/);
  assert.equal(v('VAR_IS_NOT', 'staging'), null);
  assert.match(v('VAR_IS_NOT', 'production-eu')!, /VAR_IS_NOT/);
  assert.equal(v('VAR_CONTAINS', 'prod'), null);
  assert.match(v('VAR_CONTAINS', 'us')!, /does not contain/);
  assert.equal(v('VAR_NOT_CONTAINS', 'us'), null);
  assert.match(v('VAR_NOT_CONTAINS', 'eu')!, /contains "eu"/);
  // An unset variable is empty.
  assert.match(
    check({ trigger_condition: 'VAR_IS', trigger_variable_key: 'NOPE', trigger_variable_value: 'x' })!,
    /NOPE is not set/,
  );
});

test('DATETIME checks hours and ISO weekdays in the condition time zone', () => {
  assert.deepEqual(hourAndDay(TUESDAY_1030_UTC, ''), { hour: 10, day: 2 });
  assert.deepEqual(hourAndDay(TUESDAY_1030_UTC, 'America/Monterrey'), { hour: 4, day: 2 });
  assert.deepEqual(hourAndDay(Date.parse('2026-12-06T23:30:00Z'), 'Europe/Warsaw'), { hour: 0, day: 1 });
  assert.equal(check({ trigger_condition: 'DATETIME', trigger_hours: [10], trigger_days: [2] }), null);
  assert.match(
    check({ trigger_condition: 'DATETIME', trigger_hours: [10], timezone: 'America/Monterrey' })!,
    /hour is 4 in America\/Monterrey/,
  );
  assert.match(check({ trigger_condition: 'DATETIME', trigger_days: [1, 3] })!, /day is 2/);
  assert.equal(
    check({ trigger_condition: 'DATETIME', trigger_hours: [4, 5], timezone: 'America/Monterrey' }),
    null,
  );
});

test('SUCCESS_PIPELINE needs the named pipeline to exist and its last finished run to have succeeded', () => {
  const sp = (pipeline: string) =>
    check({
      trigger_condition: 'SUCCESS_PIPELINE',
      trigger_project_name: 'site',
      trigger_pipeline_name: pipeline,
    });
  assert.equal(sp('build'), null);
  assert.match(sp('lint')!, /last run of "site\/lint" is FAILED/);
  assert.match(sp('deploy')!, /no pipeline "site\/deploy"/);
});

test('TRIGGERING_USER conditions compare e-mails case-insensitively and group names exactly', () => {
  assert.equal(check({ trigger_condition: 'TRIGGERING_USER_IS', trigger_user: 'mike@company.com' }), null);
  assert.match(
    check({ trigger_condition: 'TRIGGERING_USER_IS', trigger_user: 'anna@company.com' })!,
    /triggered by Mike@Company.com, not anna@company.com/,
  );
  assert.equal(
    check({ trigger_condition: 'TRIGGERING_USER_IS_NOT', trigger_user: 'anna@company.com' }),
    null,
  );
  assert.match(
    check({ trigger_condition: 'TRIGGERING_USER_IS_NOT', trigger_user: 'mike@company.com' })!,
    /IS_NOT/,
  );
  assert.equal(check({ trigger_condition: 'TRIGGERING_USER_IS_IN_GROUP', trigger_group: 'devs' }), null);
  assert.match(
    check({ trigger_condition: 'TRIGGERING_USER_IS_IN_GROUP', trigger_group: 'ops' })!,
    /not in group "ops"/,
  );
  assert.equal(check({ trigger_condition: 'TRIGGERING_USER_IS_NOT_IN_GROUP', trigger_group: 'ops' }), null);
  assert.match(
    check({ trigger_condition: 'TRIGGERING_USER_IS_NOT_IN_GROUP', trigger_group: 'devs' })!,
    /is in group/,
  );
});

test('several conditions are ANDed and the first that fails is named', () => {
  const conditions = [
    normalizeCondition({ trigger_condition: 'ON_CHANGE' }),
    normalizeCondition({
      trigger_condition: 'VAR_IS',
      trigger_variable_key: 'ENV',
      trigger_variable_value: 'x',
    }),
    normalizeCondition({ trigger_condition: 'TRIGGERING_USER_IS_IN_GROUP', trigger_group: 'ops' }),
  ];
  assert.match(unmetTriggerCondition(conditions, facts())!, /^trigger condition not met: VAR_IS/);
  assert.equal(unmetTriggerCondition([], facts()), null);
});
