/*
 * A link to a section of another page (chapter-5.html#mod-conv, from the claims page or
 * a cross-reference) lands on that section.
 *
 * The browser scrolls to the section when the page has loaded, smoothly (the theme sets
 * scroll-behavior: smooth). Then MathJax typesets the formulas and the page's folds
 * close, and the page above the section shrinks or grows: the section ended up 25 to
 * 3,500 px off the screen (13 of 40 evidence links of the claims page at 390 px, 11 at
 * 1280 px). Once MathJax is done, this puts the section back at the top of the window,
 * at once, and keeps it there while the page still settles (late fonts, images), for
 * three seconds or until the reader scrolls, taps, clicks or presses a key.
 *
 * Going back or forward in the history keeps the place the browser restores.
 */
(() => {
  if (!window.location.hash) return;
  const nav = performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
  if (nav && nav.type === "back_forward") return;
  let id;
  try {
    id = decodeURIComponent(window.location.hash.slice(1));
  } catch (e) {
    return; // not a valid escape: no section to find
  }
  const hash = window.location.hash;
  let readerMoved = false;
  const stop = () => { readerMoved = true; };
  for (const type of ["wheel", "touchstart", "mousedown", "keydown"]) {
    window.addEventListener(type, stop, {capture: true, passive: true, once: true});
  }
  const land = () => {
    if (readerMoved || window.location.hash !== hash) return;
    const target = document.getElementById(id);
    if (target) target.scrollIntoView({behavior: "instant", block: "start"});
  };
  const typeset = () => {
    const MJ = window.MathJax;
    return MJ && MJ.startup && MJ.startup.promise ? MJ.startup.promise : Promise.resolve();
  };
  window.addEventListener("load", () => {
    typeset().catch(() => null).then(() => {
      land();
      window.sectionLinkLanded = true; // for the browser tests (tests/browser/test_navigation.py)
      if (typeof ResizeObserver !== "function") return;
      const observer = new ResizeObserver(land);
      observer.observe(document.querySelector(".bd-article") || document.body);
      setTimeout(() => observer.disconnect(), 3000);
    });
  });
})();
