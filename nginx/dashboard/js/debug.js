// Loaded first, as a classic script, so it sees every Content-Security-Policy violation of the page
// (the end-to-end tests read window.plugindDebug; a person sees them in the console).
(function () {
  "use strict";
  var debug = { cspViolations: [], errors: [] };
  window.plugindDebug = debug;
  document.addEventListener("securitypolicyviolation", function (event) {
    var entry = {
      directive: event.violatedDirective || event.effectiveDirective,
      blocked: event.blockedURI,
      source: event.sourceFile,
      line: event.lineNumber,
      sample: event.sample
    };
    debug.cspViolations.push(entry);
    console.error("Content Security Policy violation: " + JSON.stringify(entry));
  });
  window.addEventListener("error", function (event) {
    debug.errors.push(String(event.message || event.error));
  });
  window.addEventListener("unhandledrejection", function (event) {
    debug.errors.push("unhandled rejection: " + String(event.reason && (event.reason.stack || event.reason)));
  });
})();
