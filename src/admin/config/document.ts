/**
 * The part of the config the admin API edits: `routes` and `policies`, the "policy document".
 * Every other key of ztgate.yaml (listeners, store, identity, TLS, audit) comes from the file only:
 * changing those needs a restart, and an API that could repoint the store or the IdP would be a
 * bigger target than it is worth.
 *
 * A version is stored as the YAML text of the document (`routes:` then `policies:`), so that it can
 * be read, diffed and pasted into ztgate.yaml as it is. It is checked with the config loader itself
 * (the same zod schemas, semantic checks and policy compiler as the file), with the document first
 * in the text so that problem positions are positions in the stored version.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { z } from 'zod';
import { canonicalJson } from '../../audit/canonical.js';
import { checkConfigText } from '../../config/load.js';
import { PolicyNameSchema, RouteSchema, type Config, type Route } from '../../config/schema.js';
import { buildEngine, type PolicyEngine } from '../../pdp/index.js';
import { PolicySchema, type PolicySyntax } from '../../pdp/lang/schema.js';
import { hasErrors, type Problem } from '../../shared/errors.js';
import type { Locate } from '../../shared/source.js';

/** The request schema of a whole document: the config's own route and policy schemas. */
export const PolicyDocumentSchema = z
  .strictObject({
    routes: z.array(RouteSchema).default([]).meta({ description: 'The apps behind the proxy.' }),
    policies: z
      .record(PolicyNameSchema, PolicySchema)
      .default({})
      .meta({ description: 'Named policies, which routes refer to by name.' }),
  })
  .meta({ description: 'The routes and policies of ztgate.yaml, as the admin API edits them.' });

export interface PolicyDocument {
  readonly routes: readonly Route[];
  readonly policies: Readonly<Record<string, PolicySyntax>>;
}

/** The YAML text a version stores. Deterministic for one document. */
export function documentText(doc: {
  readonly routes: unknown;
  readonly policies: unknown;
}): string {
  return stringify(
    { routes: doc.routes, policies: doc.policies },
    { aliasDuplicateObjects: false, lineWidth: 0 },
  );
}

/** SHA-256 of the canonical JSON of a document: equal documents, equal checksums. */
export function documentChecksum(doc: PolicyDocument): string {
  return createHash('sha256')
    .update(canonicalJson({ routes: doc.routes, policies: doc.policies }))
    .digest('hex');
}

export interface DocumentCheck {
  /** set when there is no error */
  readonly result?: {
    readonly document: PolicyDocument;
    readonly config: Config;
    readonly locate: Locate;
    readonly engine: PolicyEngine<Route>;
  };
  /** errors and warnings, from the schema, the semantic checks and the policy compiler */
  readonly problems: readonly Problem[];
  /** the name problem positions refer to */
  readonly file: string;
}

/**
 * Checks document text (a stored version, or a request body turned into YAML) in the context of
 * the file's config: the result is the file's config with these routes and policies.
 */
export function checkDocumentText(
  text: string,
  base: Config,
  file: string,
  previous?: PolicyEngine<Route>,
): DocumentCheck {
  // public_url after the document, so that lines 1..n are the document's own lines.
  const full = `${text.endsWith('\n') ? text : `${text}\n`}${stringify({ public_url: base.public_url })}`;
  // The environment was applied to the file already; it must not reach into API edits.
  const checked = checkConfigText(full, file, { env: {} });
  const problems = checked.problems.filter(
    (p) => p.severity === 'error' || p.path === undefined || isDocumentPath(p.path),
  );
  if (!checked.config || hasErrors(problems)) return { problems, file };
  const config: Config = {
    ...base,
    routes: checked.config.routes,
    policies: checked.config.policies,
  };
  const built = buildEngine(config, checked.locate, previous?.policies);
  const all = [...problems, ...built.problems];
  if (hasErrors(all)) return { problems: all, file };
  return {
    problems: all,
    file,
    result: {
      document: { routes: config.routes, policies: config.policies },
      config,
      locate: checked.locate,
      engine: built.engine,
    },
  };
}

function isDocumentPath(path: readonly (string | number)[]): boolean {
  return path[0] === 'routes' || path[0] === 'policies';
}

/** The file's own routes and policies, compiled against its real positions. */
export function fileDocument(config: Config): PolicyDocument {
  return { routes: config.routes, policies: config.policies };
}
