/*
 * Search result snippets from the text a reader sees.
 *
 * Sphinx's searchtools.js (Search.htmlToText) takes a result's snippet from the whole
 * [role="main"] element. In sphinx-book-theme that also holds the article header (its
 * download menu reads ".ipynb .pdf") and the print-only contents list, so snippets came
 * out as "....pdf Dropout masks Contents...". This takes them from the article alone.
 * searchtools.js is loaded after this file and only on search.html, so the wrapper is
 * installed once the page is parsed; snippets are built later, when each result's page
 * has been fetched.
 */
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search === "undefined" || typeof Search.htmlToText !== "function") return;
  const sphinxHtmlToText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    const article = doc.querySelector('[role="main"] article');
    if (!article) return sphinxHtmlToText(htmlString, anchor);
    article.querySelectorAll(".headerlink, script, style").forEach((el) => el.remove());
    if (anchor) {
      let section = null;
      try {
        section = article.querySelector(anchor);
      } catch (e) {
        // an id that is not a valid CSS selector: fall back to the whole article
      }
      if (section) return section.textContent;
    }
    return article.textContent;
  };
});
