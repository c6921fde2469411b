export { DEFAULT_LIMITS, LIMIT_SOURCES, readLimits, type LimitSettings } from './settings.js';
export { RequestLimits, type KeyedCaller } from './request-limits.js';
export { limited } from './limited.js';
export { registerLimitMetrics } from './metrics.js';
export { LoginThrottle, DEFAULT_LOGIN_THROTTLE, type LoginThrottleOptions } from './login-throttle.js';
export { WaitGate } from './wait-gate.js';
