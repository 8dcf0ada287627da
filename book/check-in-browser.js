// Injected into each page by `book/check-in-browser` only (never into the
// published book). Once the page and its fonts are loaded, it measures what a
// reader would see and writes one line per problem into a <pre> at the end of
// the page, which the script reads back from Chromium's --dump-dom.

"use strict";

// The heading a reader would look for: the nearest one above `element`.
function sectionOf(element) {
    let where = "top of the page";
    for (const heading of document.querySelectorAll("main :is(h1, h2, h3, h4, h5, h6)")) {
        if (heading.compareDocumentPosition(element) & Node.DOCUMENT_POSITION_FOLLOWING) {
            where = "#" + (heading.id || heading.textContent.trim());
        }
    }
    return where;
}

function longestLine(text) {
    return text.split("\n").reduce((a, b) => (b.length > a.length ? b : a), "");
}

function problemsOfCodeBlock(pre, contentRight) {
    const problems = [];
    const code = pre.querySelector("code") || pre;
    const where = sectionOf(pre);
    const cut = Math.max(code.scrollWidth - code.clientWidth, pre.scrollWidth - pre.clientWidth);
    if (cut > 1) {
        const line = longestLine(code.textContent);
        problems.push(`code line wider than its block by ${cut} px, under ${where}: ` +
            `${line.length} columns: ${line.trim().slice(0, 60)}`);
    }
    const pastContent = pre.getBoundingClientRect().right - contentRight;
    if (pastContent > 1) {
        problems.push(`code block ${Math.round(pastContent)} px wider than the content, under ${where}`);
    }
    for (const line of code.textContent.split("\n")) {
        if (/ANCHOR(_END)?:/.test(line)) {
            problems.push(`ANCHOR marker in a code block, under ${where}: ${line.trim()}`);
        }
    }
    return problems;
}

function problemsOfPage() {
    const main = document.querySelector("main");
    if (!main) {
        return ["no <main> element: not an mdBook page?"];
    }
    const problems = [];
    if (!document.documentElement.classList.contains("sidebar-visible")) {
        problems.push("the sidebar is hidden, so the content was measured wider than a reader sees it");
    }
    const codeFont = [...document.fonts].find((font) => font.family.replace(/"/g, "") === "Source Code Pro");
    if (!codeFont || codeFont.status !== "loaded") {
        problems.push("the code font (Source Code Pro) did not load: widths would be measured with another");
    }
    // Closed <details> have no size: open them all, as a curious reader would.
    for (const details of document.querySelectorAll("details")) {
        details.open = true;
    }
    const contentRight = main.getBoundingClientRect().right;
    for (const pre of main.querySelectorAll("pre")) {
        problems.push(...problemsOfCodeBlock(pre, contentRight));
    }
    let at = main.textContent.indexOf("{{#");
    while (at >= 0) {
        const context = main.textContent.slice(at, at + 50).split("\n")[0];
        problems.push(`raw mdBook directive left in the page: ${context}`);
        at = main.textContent.indexOf("{{#", at + 3);
    }
    // mdBook shows each image twice (small, and zoomed): report it once.
    const missing = new Set();
    for (const img of document.querySelectorAll("img")) {
        if ((!img.complete || img.naturalWidth === 0) && !missing.has(img.src)) {
            missing.add(img.src);
            problems.push(`missing image ${img.getAttribute("src")}, under ${sectionOf(img)}`);
        }
    }
    const blocks = main.querySelectorAll("pre").length;
    return problems.map((problem) => "PROBLEM " + problem)
        .concat([`CHECKED ${blocks} code blocks at ${window.innerWidth} px`]);
}

function report(lines) {
    const pre = document.createElement("pre");
    pre.id = "check-in-browser";
    pre.textContent = "\n" + lines.join("\n") + "\n";
    document.body.appendChild(pre);
}

window.addEventListener("load", () => {
    document.fonts.ready.then(() => report(problemsOfPage()));
});
