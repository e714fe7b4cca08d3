// What every admin plugin and route is given: the API, the password store, the sessions, the
// login limiter, the throughput sampler and the clock. Built once in app.ts.

import type { AdminApi } from './api.ts';
import type { AdminStore } from './admin-store.ts';
import type { FailureLimiter } from './plugins/rate-limit.ts';
import type { SessionStore } from './sessions.ts';
import type { ThroughputSampler } from './throughput.ts';

export interface AdminDeps {
  api: AdminApi;
  store: AdminStore;
  sessions: SessionStore;
  limiter: FailureLimiter;
  sampler: ThroughputSampler;
  now: () => number;
}
