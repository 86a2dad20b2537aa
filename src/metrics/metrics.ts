import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Outcome of one attempt to deliver a workspace webhook. */
export type WebhookDeliveryOutcome = 'delivered' | 'failed' | 'gave_up';

/** What the metrics read when Prometheus scrapes (each may be absent, e.g. in a test). */
export interface ScrapeSources {
  /** Brings the execution/action counters up to date (follows the store's event log). */
  catchUp?: () => Promise<void>;
  queue?: () => Promise<{ queued: number; delayed: number; running: number; oldestWaitSeconds: number }>;
  /** Containers of this Gantry that run now; null when the engine does not answer. */
  runningContainers?: () => Promise<number | null>;
  /** Bytes written to action logs since the process started. */
  logBytesWritten?: () => number;
}

interface Scrape {
  queue?: Awaited<ReturnType<NonNullable<ScrapeSources['queue']>>>;
  runningContainers?: number | null;
  logBytes?: number;
}

const DURATION_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Gantry's Prometheus metrics (prom-client, own registry). Other subsystems record through the
 * methods below rather than touching prom-client; Prometheus reads `render()`.
 *
 * Adding a metric: declare it here with a `gantry_` name and a help text, add a recording method,
 * and have the composition root (server.ts) hand that method to the subsystem that counts.
 */
export class GantryMetrics {
  readonly registry = new Registry();
  private sources: ScrapeSources = {};
  private scrape: Scrape = {};

  private readonly executionsFinished = new Counter({
    name: 'gantry_executions_finished_total',
    help: 'Executions that reached a final status since the server started, by that status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  private readonly queueWait = new Histogram({
    name: 'gantry_queue_wait_seconds',
    help: 'Time from acceptance (or retry) to start of the executions started since the server started',
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly actionDuration = new Histogram({
    name: 'gantry_action_duration_seconds',
    help: 'Run time of finished action executions, by action type and final status',
    labelNames: ['type', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly httpRequests = new Counter({
    name: 'gantry_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'gantry_http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  private readonly webhookDeliveries = new Counter({
    name: 'gantry_webhook_deliveries_total',
    help: 'Workspace webhook delivery attempts, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    // Gauges read what render() fetched once per scrape, so one scrape costs one query of each kind.
    const scrape = (): Scrape => this.scrape;
    new Gauge({
      name: 'gantry_queue_length',
      help: 'Executions waiting: queued for a free slot, or delayed by delay_until',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const q = scrape().queue;
        if (!q) return;
        this.set({ state: 'queued' }, q.queued);
        this.set({ state: 'delayed' }, q.delayed);
      },
    });
    new Gauge({
      name: 'gantry_queue_oldest_wait_seconds',
      help: 'How long the oldest execution waiting for a slot has waited (0 when none waits)',
      registers,
      collect() {
        const q = scrape().queue;
        if (q) this.set(q.oldestWaitSeconds);
      },
    });
    new Gauge({
      name: 'gantry_executions_running',
      help: 'Executions running or being cancelled now',
      registers,
      collect() {
        const q = scrape().queue;
        if (q) this.set(q.running);
      },
    });
    new Gauge({
      name: 'gantry_running_containers',
      help: 'Action containers of this server running on the Docker engine now',
      registers,
      collect() {
        const n = scrape().runningContainers;
        if (typeof n === 'number') this.set(n);
      },
    });
    new Gauge({
      name: 'gantry_docker_up',
      help: '1 when the Docker engine answered during this scrape, else 0',
      registers,
      collect() {
        const n = scrape().runningContainers;
        if (n !== undefined) this.set(n === null ? 0 : 1);
      },
    });
    new Counter({
      name: 'gantry_log_bytes_written_total',
      help: 'Bytes written to action logs since the server started',
      registers,
      collect() {
        const bytes = scrape().logBytes;
        if (bytes === undefined) return;
        this.reset();
        this.inc(bytes);
      },
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Connects the scrape-time readers (done by the composition root). */
  setSources(sources: ScrapeSources): void {
    this.sources = sources;
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<string> {
    const s = this.sources;
    await s.catchUp?.();
    const [queue, runningContainers] = await Promise.all([s.queue?.(), s.runningContainers?.()]);
    this.scrape = { queue, runningContainers, logBytes: s.logBytesWritten?.() };
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** An execution reached a final status (SUCCESSFUL, FAILED, TERMINATED, ...). */
  executionFinished(status: string): void {
    this.executionsFinished.inc({ status });
  }

  /** An execution started after waiting `seconds` in the queue. */
  executionStarted(waitSeconds: number): void {
    this.queueWait.observe(Math.max(0, waitSeconds));
  }

  /** An action execution ended with `status` after running `seconds`. */
  actionFinished(type: string, status: string, seconds: number): void {
    this.actionDuration.observe({ type, status }, Math.max(0, seconds));
  }

  /** One HTTP request was answered. `route` is the route pattern (never the raw URL: bounded labels). */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  /**
   * One workspace webhook delivery attempt ended. For the webhook outbox (issue 10): call this once
   * per attempt; `gave_up` when the outbox stops retrying.
   */
  webhookDelivery(outcome: WebhookDeliveryOutcome): void {
    this.webhookDeliveries.inc({ outcome });
  }
}
