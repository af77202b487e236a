/**
 * Routes and policies from two sources, the file (GitOps) and the admin API, with one rule:
 *
 *   **The most recent change wins, and a change of the file counts when ztgate reads it.**
 *
 * - Every change is a version in the store (`configVersions`: 1, 2, 3... without gaps): API edits
 *   and rollbacks (author `api:<user>` or `token:<id>`), and the file's routes and policies each
 *   time they differ from the last ones imported (author `file`).
 * - At start and at every reload of the file, its routes and policies are compared (by checksum)
 *   with those it held when last imported (kept in the settings). Different, or never imported:
 *   the file wins and becomes the newest version. The same: the newest stored version is in force,
 *   so API edits and rollbacks survive restarts until someone changes the file.
 * - Every other key is read from the file only.
 *
 * A new state is built whole (config, positions, compiled engine, reusing unchanged compiled
 * policies) and swapped in one assignment; listeners (`onChange`) hand it to the proxy, so a
 * change takes effect without dropping a connection.
 */
import type { LoadedConfig } from '../../config/load.js';
import type { Config, Route } from '../../config/schema.js';
import { buildEngine, type PolicyEngine } from '../../pdp/index.js';
import { hasErrors, ProblemsError, type ErrorCode } from '../../shared/errors.js';
import type { Locate } from '../../shared/source.js';
import {
  StoreConflictError,
  type ConfigVersionRecord,
  type ConfigVersionStore,
  type SettingsStore,
} from '../../store/store.js';
import {
  checkDocumentText,
  documentChecksum,
  documentText,
  fileDocument,
  type DocumentCheck,
  type PolicyDocument,
} from './document.js';

export type ConfigSource = 'file' | 'api';

/** One immutable state: what the proxy and the admin API decide with. */
export interface ConfigState {
  /** the store version in force */
  readonly version: number;
  readonly source: ConfigSource;
  readonly author: string;
  readonly createdAt: number;
  /** SHA-256 of the version's text */
  readonly checksum: string;
  /** the file's config with the routes and policies in force */
  readonly config: Config;
  readonly locate: Locate;
  readonly engine: PolicyEngine<Route>;
  readonly document: PolicyDocument;
}

export interface ConfigChangeEvent {
  readonly type: 'policy.reloaded';
  readonly version: number;
  readonly checksum?: string;
}

export interface ConfigManagerOptions {
  readonly versions: ConfigVersionStore;
  readonly settings: SettingsStore;
  /** the config file as loaded (environment applied, paths resolved) */
  readonly file: LoadedConfig;
  readonly now?: () => number;
  /** tells the other replicas (`policy.reloaded`); they call `refresh()` */
  readonly events?: { publish(event: ConfigChangeEvent): Promise<void> };
  readonly onWarning?: (code: ErrorCode, message: string) => void;
}

export type ConfigListener = (state: ConfigState, previous: ConfigState) => void;

/** The settings key holding the checksum of the file's routes and policies when last imported. */
export const FILE_CHECKSUM_KEY = 'admin/config/file-checksum';

export const FILE_AUTHOR = 'file';

export class ConfigManager {
  private state: ConfigState;
  private file: LoadedConfig;
  private readonly listeners = new Set<ConfigListener>();
  private readonly now: () => number;

  private constructor(
    private readonly o: ConfigManagerOptions,
    initial: ConfigState,
  ) {
    this.state = initial;
    this.file = o.file;
    this.now = o.now ?? Date.now;
  }

  /** Loads the state in force, importing the file when it changed (see the rule above). */
  static async open(options: ConfigManagerOptions): Promise<ConfigManager> {
    const fileState = ConfigManager.fromFile(options.file, 0, FILE_AUTHOR, 0, '');
    const manager = new ConfigManager(options, fileState);
    manager.state = await manager.reconcile(options.file);
    return manager;
  }

  current(): ConfigState {
    return this.state;
  }

  /** Called with every new state (API edit, rollback, file reload, another replica's change). */
  onChange(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The file was read again (SIGHUP, file watcher): applies the rule again. */
  async reloadFile(file: LoadedConfig): Promise<ConfigState> {
    this.file = file;
    return this.swap(await this.reconcile(file));
  }

  /** Another replica changed the config (`policy.reloaded`, or the bus resynced): read the newest. */
  async refresh(): Promise<ConfigState> {
    const latest = await this.o.versions.latest();
    if (!latest || latest.version === this.state.version) return this.state;
    return this.swap(this.fromVersion(latest));
  }

  /** Checks a document as the next version would be checked, without storing anything. */
  check(doc: { readonly routes: unknown; readonly policies: unknown }): DocumentCheck {
    return checkDocumentText(
      documentText(doc),
      this.file.config,
      draftFile(this.state.version + 1),
      this.state.engine,
    );
  }

  /**
   * Stores a checked document as the next version and puts it in force. `expectedVersion` (the
   * version the edit was based on; default the one in force here) makes a concurrent edit, from
   * this replica or another, a `ZT_STORE_CONFLICT` instead of a lost update. Throws ProblemsError
   * when the document has errors.
   */
  async apply(
    doc: { readonly routes: unknown; readonly policies: unknown },
    options: { readonly author: string; readonly expectedVersion?: number },
  ): Promise<{ state: ConfigState; previous: ConfigState }> {
    const checked = this.check(doc);
    if (!checked.result) throw new ProblemsError(checked.problems);
    return this.store(checked.result.document, options);
  }

  /** Puts an earlier version's content in force again, as a new version. */
  async rollback(
    version: number,
    options: { readonly author: string; readonly expectedVersion?: number },
  ): Promise<{ state: ConfigState; previous: ConfigState; target: ConfigVersionRecord }> {
    const target = await this.o.versions.get(version);
    if (!target) throw new RangeError(`no config version ${version}`);
    const checked = checkDocumentText(
      target.content,
      this.file.config,
      versionFile(target.version),
      this.state.engine,
    );
    // An old version that no longer passes today's checks is refused, never put in force.
    if (!checked.result) throw new ProblemsError(checked.problems);
    return { ...(await this.store(checked.result.document, options)), target };
  }

  async versions(limit = 100): Promise<readonly ConfigVersionRecord[]> {
    return this.o.versions.list(limit);
  }

  async version(version: number): Promise<ConfigVersionRecord | undefined> {
    return this.o.versions.get(version);
  }

  // -------------------------------------------------------------------------------------------

  private async store(
    document: PolicyDocument,
    options: { readonly author: string; readonly expectedVersion?: number },
  ): Promise<{ state: ConfigState; previous: ConfigState }> {
    const previous = this.state;
    let record: ConfigVersionRecord;
    try {
      record = await this.o.versions.append({
        content: documentText(document),
        author: options.author,
        at: this.now(),
        expectedLatest: options.expectedVersion ?? previous.version,
      });
    } catch (err) {
      // Someone else stored a version: catch up, so that a retry is based on it.
      if (err instanceof StoreConflictError) await this.refresh().catch(() => undefined);
      throw err;
    }
    const state = this.fromVersion(record);
    this.swap(state);
    await this.announce(state);
    return { state, previous };
  }

  private async reconcile(file: LoadedConfig): Promise<ConfigState> {
    const doc = fileDocument(file.config);
    const sum = documentChecksum(doc);
    const imported = await this.o.settings.get(FILE_CHECKSUM_KEY);
    const latest = await this.o.versions.latest();
    if (latest && imported === sum) {
      const state = this.tryVersion(latest);
      if (state) return state;
      this.o.onWarning?.(
        'ZT_ADMIN_CONFIG_INVALID',
        `config version ${latest.version} no longer passes the checks: the file's routes and policies are used`,
      );
    }
    // The file changed since it was last imported (or never was): the file wins.
    const record = await this.o.versions.append({
      content: documentText(doc),
      author: FILE_AUTHOR,
      at: this.now(),
    });
    await this.o.settings.set(FILE_CHECKSUM_KEY, sum, this.now());
    const state = ConfigManager.fromFile(
      file,
      record.version,
      FILE_AUTHOR,
      record.createdAt,
      record.checksum,
      this.state.engine,
    );
    await this.announce(state);
    return state;
  }

  /** A state from the file as loaded: its positions are the real file's. */
  private static fromFile(
    file: LoadedConfig,
    version: number,
    author: string,
    createdAt: number,
    checksum: string,
    previous?: PolicyEngine<Route>,
  ): ConfigState {
    const built = buildEngine(file.config, file.locate, previous?.policies);
    if (hasErrors(built.problems)) throw new ProblemsError(built.problems);
    return {
      version,
      source: 'file',
      author,
      createdAt,
      checksum,
      config: file.config,
      locate: file.locate,
      engine: built.engine,
      document: fileDocument(file.config),
    };
  }

  private tryVersion(record: ConfigVersionRecord): ConfigState | undefined {
    try {
      return this.fromVersion(record);
    } catch {
      return undefined;
    }
  }

  private fromVersion(record: ConfigVersionRecord): ConfigState {
    const checked = checkDocumentText(
      record.content,
      this.file.config,
      versionFile(record.version),
      this.state.engine,
    );
    if (!checked.result) throw new ProblemsError(checked.problems);
    return {
      version: record.version,
      source: record.author === FILE_AUTHOR ? 'file' : 'api',
      author: record.author,
      createdAt: record.createdAt,
      checksum: record.checksum,
      config: checked.result.config,
      locate: checked.result.locate,
      engine: checked.result.engine,
      document: checked.result.document,
    };
  }

  private swap(state: ConfigState): ConfigState {
    const previous = this.state;
    this.state = state;
    for (const listener of this.listeners) {
      try {
        listener(state, previous);
      } catch (err) {
        this.o.onWarning?.(
          'ZT_ADMIN_INTERNAL',
          `a config change listener failed: ${(err as Error).message}`,
        );
      }
    }
    return state;
  }

  private async announce(state: ConfigState): Promise<void> {
    if (!this.o.events) return;
    try {
      await this.o.events.publish({
        type: 'policy.reloaded',
        version: state.version,
        checksum: state.checksum,
      });
    } catch (err) {
      // Other replicas also pick the version up at their next refresh; the change itself stands.
      this.o.onWarning?.(
        'ZT_STORE_EVENT_PUBLISH_FAILED',
        `config version ${state.version} could not be announced: ${(err as Error).message}`,
      );
    }
  }
}

/** The name positions in a stored version refer to. */
export function versionFile(version: number): string {
  return `config-version-${version}.yaml`;
}

function draftFile(version: number): string {
  return `config-draft-${version}.yaml`;
}
