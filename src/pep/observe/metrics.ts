/**
 * Prometheus metrics in the text exposition format (version 0.0.4), written by hand: a few
 * counters, gauges and one histogram, labelled by route (bounded by the config) and outcome.
 *
 * - `ztgate_pep_requests_total{route,decision,status}`: every request the proxy answered or
 *   forwarded; `decision` is `allow|deny|login|step_up|none` (none: refused before a decision),
 *   `status` the HTTP status class (`2xx`, `4xx`, ...);
 * - `ztgate_pep_request_duration_seconds{route}`: arrival to end of response, a histogram;
 * - `ztgate_pep_upstream_errors_total{route,kind}`: `unreachable|timeout|reset`;
 * - `ztgate_pep_decision_cache_{hits,misses}_total`, `ztgate_pep_tunnels_open`,
 *   `ztgate_pep_tunnels_closed_total{reason}`, `ztgate_pep_requests_in_flight`.
 */

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  readonly counts = new Float64Array(BUCKETS.length);
  sum = 0;
  count = 0;
  observe(seconds: number): void {
    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= (BUCKETS[i] as number)) {
        this.counts[i] = (this.counts[i] ?? 0) + 1;
        break;
      }
    }
    this.sum += seconds;
    this.count += 1;
  }
}

/** Escapes a label value (`\`, `"`, newline). */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();
  private readonly upstreamErrors = new Map<string, number>();
  private readonly tunnelsClosed = new Map<string, number>();
  inFlight = 0;

  request(route: string, decision: string, status: number, seconds: number): void {
    const cls = `${Math.floor(status / 100)}xx`;
    const key = `route="${label(route)}",decision="${decision}",status="${cls}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.durations.get(route);
    if (!h) {
      h = new Histogram();
      this.durations.set(route, h);
    }
    h.observe(seconds);
  }

  upstreamError(route: string, kind: 'unreachable' | 'timeout' | 'reset'): void {
    const key = `route="${label(route)}",kind="${kind}"`;
    this.upstreamErrors.set(key, (this.upstreamErrors.get(key) ?? 0) + 1);
  }

  tunnelClosed(reason: string): void {
    const key = `reason="${label(reason)}"`;
    this.tunnelsClosed.set(key, (this.tunnelsClosed.get(key) ?? 0) + 1);
  }

  /** The exposition text; `extra` supplies gauges owned elsewhere. */
  render(extra: { cacheHits: number; cacheMisses: number; tunnelsOpen: number }): string {
    const out: string[] = [];
    const counter = (name: string, help: string, values: Map<string, number>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [k, v] of values) out.push(`${name}{${k}} ${v}`);
    };
    counter(
      'ztgate_pep_requests_total',
      'Requests answered or forwarded, by route, decision and status class.',
      this.requests,
    );
    out.push(
      '# HELP ztgate_pep_request_duration_seconds Time from arrival to the end of the response.',
      '# TYPE ztgate_pep_request_duration_seconds histogram',
    );
    for (const [route, h] of this.durations) {
      const l = `route="${label(route)}"`;
      let cumulative = 0;
      BUCKETS.forEach((b, i) => {
        cumulative += h.counts[i] ?? 0;
        out.push(`ztgate_pep_request_duration_seconds_bucket{${l},le="${b}"} ${cumulative}`);
      });
      out.push(`ztgate_pep_request_duration_seconds_bucket{${l},le="+Inf"} ${h.count}`);
      out.push(`ztgate_pep_request_duration_seconds_sum{${l}} ${h.sum}`);
      out.push(`ztgate_pep_request_duration_seconds_count{${l}} ${h.count}`);
    }
    counter(
      'ztgate_pep_upstream_errors_total',
      'Upstream failures by route and kind.',
      this.upstreamErrors,
    );
    counter(
      'ztgate_pep_tunnels_closed_total',
      'WebSocket tunnels closed by the proxy, by reason.',
      this.tunnelsClosed,
    );
    const gauge = (name: string, help: string, value: number, type = 'gauge') => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    };
    gauge('ztgate_pep_requests_in_flight', 'Requests being handled.', this.inFlight);
    gauge('ztgate_pep_tunnels_open', 'Open WebSocket tunnels.', extra.tunnelsOpen);
    gauge(
      'ztgate_pep_decision_cache_hits_total',
      'Decisions served from the cache.',
      extra.cacheHits,
      'counter',
    );
    gauge(
      'ztgate_pep_decision_cache_misses_total',
      'Decisions evaluated because the cache had none.',
      extra.cacheMisses,
      'counter',
    );
    return `${out.join('\n')}\n`;
  }
}
