// What a modal dialog does for keyboard and screen-reader users: focus moves into it when it
// opens, Tab and Shift+Tab stay inside it, Escape closes it, and focus goes back to whatever
// opened it when it closes.
//
// The keys are heard on the document, not on the dialog: a focused button that goes disabled
// (the last Undo done) drops the focus to the body, and the dialog must still close on Escape
// and take Tab back. Only the dialog opened last answers.

const FOCUSABLE =
  'button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

const open: HTMLElement[] = [];

/** A Svelte action for a dialog element; `close` runs on Escape. */
export function modal(node: HTMLElement, close: () => void) {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  let onClose = close;
  const focusables = () => [...node.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((e) => e.offsetParent !== null || e === document.activeElement);
  const enter = (last = false) => {
    const all = focusables();
    (last ? all[all.length - 1] : all[0])?.focus();
    if (!node.contains(document.activeElement)) node.focus();
  };
  open.push(node);
  if (!node.contains(document.activeElement)) enter();

  function keys(e: KeyboardEvent) {
    if (open[open.length - 1] !== node) return;
    if (e.key === "Escape") {
      e.preventDefault();
      onClose();
      return;
    }
    if (e.key !== "Tab") return;
    if (!node.contains(document.activeElement)) {
      e.preventDefault();
      enter(e.shiftKey);
      return;
    }
    const all = focusables();
    if (!all.length) return;
    const first = all[0];
    const last = all[all.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  }
  document.addEventListener("keydown", keys);
  return {
    update(next: () => void) {
      onClose = next;
    },
    destroy() {
      document.removeEventListener("keydown", keys);
      open.splice(open.indexOf(node), 1);
      if (opener?.isConnected) opener.focus();
    },
  };
}
