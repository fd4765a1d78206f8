/*
 * Clicking anywhere on a folded block's title (a solution's "Solution to Exercise 1.1")
 * opens or closes it.
 *
 * sphinx-togglebutton 0.4 listens on the title element, and its handler only knows
 * clicks on the title itself, the button or the chevron's <polyline>. A click on the
 * link that sphinx-exercise puts in every solution title (or on the chevron's <path>)
 * throws "button is not defined" and the solution stays closed. This handler runs
 * first (capture phase), toggles with togglebutton's own toggleHidden(), and stops
 * the event so the broken handler never sees it.
 */
document.addEventListener(
  "click",
  (event) => {
    const title = event.target.closest(".admonition-title");
    if (!title) return;
    const button = title.querySelector(".toggle-button");
    if (!button || typeof toggleHidden !== "function") return;
    event.preventDefault();
    event.stopPropagation();
    toggleHidden(button);
  },
  true
);
