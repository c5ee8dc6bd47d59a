/**
 * The UI's Content-Security-Policy, one definition for every place that serves the bundle: the
 * agent's web listener (header) and the Electron app protocol (header). Nothing inline, nothing
 * from elsewhere. index.html carries the same policy in a meta tag (minus frame-ancestors, which
 * only works as a header).
 */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
