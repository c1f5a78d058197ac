// Small UI helpers the live-tool scripts share: element building, money and time formats, one
// countdown ticker, bottom sheets and a toast. Loaded before the tool scripts and live.js.
"use strict";

(() => {
  const h = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  // Integer cents -> yuan as price tags write them: 888 -> "8.88", 990 -> "9.9", 8900 -> "89".
  const money = (cents) => {
    const value = Math.round(Number(cents) || 0);
    const yuan = Math.floor(Math.abs(value) / 100);
    const fen = String(Math.abs(value) % 100).padStart(2, "0").replace(/0+$/, "");
    return `${value < 0 ? "-" : ""}${yuan}${fen ? `.${fen}` : ""}`;
  };

  // Milliseconds -> "mm:ss" or "h:mm:ss".
  const duration = (ms) => {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const seconds = String(total % 60).padStart(2, "0");
    return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${String(minutes).padStart(2, "0")}:${seconds}`;
  };

  const at = (iso) => {
    const t = Date.parse(iso || "");
    return Number.isNaN(t) ? null : t;
  };

  // One interval for every countdown on the page; a callback returning false is dropped.
  const ticks = new Set();
  let timer = null;
  const tick = (fn) => {
    if (fn() === false) return;
    ticks.add(fn);
    if (timer === null) {
      timer = setInterval(() => {
        for (const f of [...ticks]) if (f() === false) ticks.delete(f);
        if (!ticks.size) {
          clearInterval(timer);
          timer = null;
        }
      }, 500);
    }
  };

  // Bottom sheets: one open at a time, a shared backdrop, Escape and the backdrop close it.
  let openSheet = null;
  const backdrop = () => document.querySelector(".sheet-backdrop");
  const sheet = {
    open(name) {
      const node = document.querySelector(`.sheet[data-sheet="${name}"]`);
      if (!node) return null;
      if (openSheet && openSheet !== node) openSheet.hidden = true;
      node.hidden = false;
      backdrop().hidden = false;
      openSheet = node;
      const focus = node.querySelector(".sheet-close");
      if (focus) focus.focus({ preventScroll: true });
      node.dispatchEvent(new CustomEvent("sheet-open"));
      return node;
    },
    close() {
      if (!openSheet) return;
      openSheet.hidden = true;
      backdrop().hidden = true;
      openSheet.dispatchEvent(new CustomEvent("sheet-close"));
      openSheet = null;
    },
    isOpen: (name) => openSheet !== null && openSheet.dataset.sheet === name,
  };

  let toastTimer = null;
  const toast = (message, ms = 3000) => {
    const node = document.querySelector(".toast");
    if (!node) return;
    node.textContent = message;
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      node.hidden = true;
    }, ms);
  };

  const randomKey = () => {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  };

  document.addEventListener("DOMContentLoaded", () => {
    backdrop().addEventListener("click", () => sheet.close());
    document.querySelectorAll(".sheet-close").forEach((b) => b.addEventListener("click", () => sheet.close()));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") sheet.close();
    });
  });

  window.liveloopKit = { h, money, duration, at, tick, sheet, toast, randomKey };
})();
