/*
 * Search result snippets from the text a reader sees.
 *
 * Sphinx's searchtools.js (Search.htmlToText) takes a result's snippet from the whole
 * [role="main"] element. In sphinx-book-theme that also holds the article header (its
 * download menu reads ".ipynb .pdf") and the print-only contents list, so snippets came
 * out as "....pdf Dropout masks Contents...". This takes them from the article alone,
 * without the code the page folds (hide-input, hide-cell) and with each formula's TeX
 * written as plain text: "\(p_{\text{drop}}\)" reads "p_drop".
 * searchtools.js is loaded after this file and only on search.html, so the wrapper is
 * installed once the page is parsed; snippets are built later, when each result's page
 * has been fetched.
 *
 * Opened from a file:// address, the browser refuses those fetches (a CORS error in the
 * console, and searchtools.js leaves the rejected promise uncaught). There the search
 * still finds pages by their full text (searchindex.js is a script), so fetch() of a page
 * answers an empty text instead: the results are listed, without snippets, quietly.
 *
 * Search terms are highlighted on a page only when it is opened from a search result.
 * searchtools.js keeps the last query's terms in localStorage, and sphinx_highlight.js
 * highlights them, with a "Hide Search Matches" link, on whatever page is opened next:
 * after one search, the next page a reader opened from the sidebar showed the old query
 * highlighted. Here every page opened without ?highlight= in its address forgets those
 * terms (before sphinx_highlight.js reads them, when the page is parsed), and the search
 * page's result links carry the terms in ?highlight=, which sphinx_highlight.js reads.
 */
(() => {
  const SYMBOLS = {
    sqrt: "√", sim: "~", cdot: "·", times: "×", approx: "≈", le: "≤", leq: "≤",
    ge: "≥", geq: "≥", ne: "≠", neq: "≠", pm: "±", to: "→", rightarrow: "→",
    infty: "∞", sum: "Σ", prod: "Π", partial: "∂", odot: "⊙", lambda: "λ",
    sigma: "σ", mu: "μ", epsilon: "ε", varepsilon: "ε", alpha: "α", beta: "β",
    gamma: "γ", delta: "δ", theta: "θ", pi: "π", eta: "η", rho: "ρ", tau: "τ",
    ldots: "…", dots: "…", quad: " ", qquad: " ", mid: "|",
  };

  // A fraction's or root's argument, in parentheses when it is more than one token.
  const group = (tex) => (/^\s*[\w.']+\s*$/.test(tex) ? tex.trim() : `(${tex.trim()})`);

  // TeX as a reader would spell it in plain text: \(p_{\text{drop}}\) -> p_drop.
  const plainTex = (tex) => {
    let text = tex.trim().replace(/^\\[([]|\\[)\]]$/g, "");
    text = text.replace(/\\(?:begin|end)\{[^{}]*\}/g, " ");
    for (let i = 0; i < 4; i++) {
      text = text
        .replace(/\\(?:text|mathrm|mathbf|mathit|mathbb|mathcal|operatorname|boldsymbol|left|right)\s*\{([^{}]*)\}/g, "$1")
        .replace(/\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, (m, a, b) => `${group(a)}/${group(b)}`)
        .replace(/\\sqrt\s*\{([^{}]*)\}/g, (m, a) => `√${group(a)}`);
    }
    text = text.replace(/\\(left|right)\b/g, "")
      .replace(/\\([A-Za-z]+)/g, (m, name) => (name in SYMBOLS ? SYMBOLS[name] : name))
      .replace(/\\\{/g, "\u0001").replace(/\\\}/g, "\u0002")
      .replace(/\\[,;:! ]/g, " ")
      .replace(/&/g, "")
      .replace(/\\\\/g, " ")
      .replace(/[{}]/g, "")
      .replace(/\u0001/g, "{").replace(/\u0002/g, "}");
    return text.replace(/\s+/g, " ").trim();
  };

  // For the browser tests (tests/browser/test_navigation.py), which check a snippet against
  // the article's text written the same way.
  window.searchSnippets = {plainTex};

  const TERMS_KEY = "sphinx_highlight_terms";
  if (!new URLSearchParams(window.location.search).has("highlight")) {
    try {
      window.localStorage.removeItem(TERMS_KEY);
    } catch (e) {
      // storage refused (private mode, file:// policy): nothing was stored either
    }
  }

  // On the search page: each result link gets the query's terms in ?highlight=.
  const linkTerms = (results) => {
    let terms = "";
    try {
      terms = window.localStorage.getItem(TERMS_KEY) || "";
    } catch (e) {
      terms = "";
    }
    terms = terms || new URLSearchParams(window.location.search).get("q") || "";
    if (!terms) return;
    results.querySelectorAll("ul.search > li > a[href]").forEach((a) => {
      const url = new URL(a.getAttribute("href"), window.location.href);
      if (url.searchParams.get("highlight") === terms) return;
      url.searchParams.set("highlight", terms);
      a.setAttribute("href", url.href);
    });
  };

  if (window.location.protocol === "file:" && typeof window.fetch === "function") {
    const browserFetch = window.fetch.bind(window);
    window.fetch = (resource, options) => {
      const url = typeof resource === "string" ? resource : (resource && resource.url) || "";
      const target = new URL(url, window.location.href);
      if (target.protocol === "file:" && /\.html$/.test(target.pathname))
        return Promise.resolve(new Response("", {status: 200}));
      return browserFetch(resource, options);
    };
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof Search === "undefined" || typeof Search.htmlToText !== "function") return;
    const results = document.getElementById("search-results");
    if (results && typeof MutationObserver === "function") {
      new MutationObserver(() => linkTerms(results)).observe(results, {childList: true, subtree: true});
    }
    const sphinxHtmlToText = Search.htmlToText;
    Search.htmlToText = (htmlString, anchor) => {
      const doc = new DOMParser().parseFromString(htmlString, "text/html");
      const article = doc.querySelector('[role="main"] article');
      if (!article) return sphinxHtmlToText(htmlString, anchor);
      const folded = [".headerlink", "script", "style", "details.hide",
                      ".tag_hide-input .cell_input", ".tag_hide-cell", ".tag_remove-input .cell_input"];
      article.querySelectorAll(folded.join(", ")).forEach((el) => el.remove());
      article.querySelectorAll(".math").forEach((el) => {
        el.textContent = plainTex(el.textContent);
      });
      let root = article;
      if (anchor) {
        try {
          root = article.querySelector(anchor) || article;
        } catch (e) {
          // an id that is not a valid CSS selector: fall back to the whole article
        }
      }
      return root.textContent.replace(/\s+/g, " ");
    };
  });
})();
