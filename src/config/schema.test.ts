import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  configJsonSchema,
  describeAt,
  fileKeys,
  formatFileKey,
  knownKeysAt,
  type JsonSchema,
} from './json-schema.js';
import { ConfigSchema, PolicyNameSchema } from './schema.js';

function isSchema(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every `properties` entry under a node, with its path, not following `$ref`s. */
function properties(
  node: JsonSchema,
  path: string,
  out: [string, JsonSchema][] = [],
): [string, JsonSchema][] {
  const visit = (n: unknown, p: string): void => {
    if (!isSchema(n)) return;
    if (isSchema(n.properties)) {
      for (const [k, v] of Object.entries(n.properties)) {
        if (!isSchema(v)) continue;
        out.push([`${p}${p ? '.' : ''}${k}`, v]);
        visit(v, `${p}${p ? '.' : ''}${k}`);
      }
    }
    for (const key of ['items', 'additionalProperties']) visit(n[key], `${p}[]`);
    for (const key of ['anyOf', 'oneOf'])
      if (Array.isArray(n[key])) for (const b of n[key]) visit(b, p);
  };
  visit(node, path);
  return out;
}

describe('the config schema', () => {
  const schema = configJsonSchema();

  test('is JSON Schema draft 2020-12 with an id, a title and a description', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(typeof schema.$id, 'string');
    assert.equal(schema.title, 'ztgate.yaml');
    assert.equal(typeof schema.description, 'string');
  });

  test('every config key has a description', () => {
    const missing = properties(schema, '')
      .filter(([, node]) => typeof node.description !== 'string' && typeof node.$ref !== 'string')
      .map(([path]) => path);
    assert.deepEqual(missing, []);
  });

  test('every object is strict', () => {
    const loose: string[] = [];
    const visit = (n: unknown, p: string): void => {
      if (!isSchema(n)) return;
      if (n.type === 'object' && isSchema(n.properties) && n.additionalProperties !== false)
        loose.push(p);
      for (const v of Object.values(n)) {
        if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${p}/${i}`));
        else visit(v, p);
      }
    };
    visit(schema, '#');
    assert.deepEqual(loose, []);
  });

  test('every top-level key is optional, and the defaults appear in the JSON Schema', () => {
    assert.equal(schema.required, undefined);
    const props = schema.properties as Record<string, JsonSchema>;
    const defaults = Object.fromEntries(
      Object.entries(props)
        .filter(([, v]) => 'default' in v)
        .map(([k, v]) => [k, v.default]),
    );
    assert.deepEqual(defaults, {
      data_dir: './.ztgate',
      listen: '127.0.0.1:8443',
      public_url: 'https://auth.localhost:8443',
      workers: 1,
      store: 'sqlite',
      identity: { builtin: {} },
      session: { ttl: '8h', idle: '1h', revalidate: '15m' },
      audit: {
        batch_window: '100ms',
        backlog_limit: 100_000,
        on_backlog_full: 'fail_closed',
        checkpoint_interval: '1m',
      },
      // `prefault`: each key of these sections carries its own default (below)
      proxy: {},
      pki: {},
      devices: {},
      routes: [],
      policies: {},
    });
    const oidc = properties(schema, '').find(([p]) => p === 'identity.oidc.scopes');
    assert.deepEqual(oidc?.[1].default, ['openid', 'email', 'profile']);
  });

  test('an empty object parses to the defaults', () => {
    const config = ConfigSchema.parse({});
    assert.equal(config.store, 'sqlite');
    assert.deepEqual(config.routes, []);
  });

  test('policy names', () => {
    for (const ok of ['a', 'engineering', 'team.dev-1_x', 'x'.repeat(128)])
      assert.ok(PolicyNameSchema.safeParse(ok).success, ok);
    for (const bad of ['', 'a b', 'x'.repeat(129), 'ü', 'a/b'])
      assert.ok(!PolicyNameSchema.safeParse(bad).success, bad);
  });

  test('known keys are found through lists, records, $ref and anyOf', () => {
    assert.ok(knownKeysAt([]).includes('listen'));
    assert.deepEqual(knownKeysAt(['routes', 3]), [
      'from',
      'to',
      'policy',
      'mode',
      'identity_headers',
      'preserve_host',
      'tls',
    ]);
    assert.deepEqual(knownKeysAt(['proxy', 'decision_cache']), ['max_entries', 'ttl']);
    assert.ok(knownKeysAt(['devices', 'webhooks', 0, 'map', 'x']).includes('equals'));
    assert.ok(knownKeysAt(['policies', 'any', 'allow', 0, 'all', 1, 'not']).includes('groups'));
    assert.deepEqual(knownKeysAt(['routes', 0, 'policy']), ['description', 'allow', 'deny']);
    assert.deepEqual(knownKeysAt(['policies', 'p', 'deny', 0, 'mfa']), [
      'required',
      'max_age',
      'methods',
    ]);
    assert.deepEqual(knownKeysAt(['nope']), []);
  });

  test('describes what a path expects', () => {
    assert.equal(describeAt(['session', 'ttl']), 'a duration such as `30m`');
    assert.equal(describeAt(['routes', 0, 'policy']), 'a string or a policy (a map)');
    assert.equal(
      describeAt(['policies', 'p', 'allow', 0, 'groups']),
      'a string or a list of strings',
    );
    assert.equal(describeAt(['routes', 0, 'mode']), 'one of `enforce`, `audit`');
  });

  test('file keys and which of them are secrets, also in the items of lists', () => {
    assert.deepEqual(
      fileKeys().map((k) => [formatFileKey(k.path), k.secret]),
      [
        ['data_dir', false],
        ['identity.oidc.client_secret_file', true],
        ['identity.oidc.ca_file', false],
        ['tls.cert_file', false],
        ['tls.key_file', true],
        ['audit.syslog.ca_file', false],
        ['audit.webhook.secret_file', true],
        ['audit.webhook.ca_file', false],
        ['devices.webhooks[].secret_file', true],
        ['routes[].tls.ca_file', false],
        ['routes[].tls.cert_file', false],
        ['routes[].tls.key_file', true],
      ],
    );
  });
});
