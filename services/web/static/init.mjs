// NHS.UK frontend's components, started from a module file: the CSP allows no inline script.
import { initAll } from "/assets/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();
