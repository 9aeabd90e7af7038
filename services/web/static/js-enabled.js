document.body
  ? document.body.classList.add("js-enabled")
  : document.documentElement.classList.add("js-enabled");
