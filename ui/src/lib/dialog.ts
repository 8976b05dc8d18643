// What a modal dialog does for keyboard and screen-reader users: focus moves into it when it
// opens, Tab and Shift+Tab stay inside it, Escape closes it, and focus goes back to whatever
// opened it when it closes.

const FOCUSABLE =
  'button:not([disabled]), [href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** A Svelte action for a dialog element; `close` runs on Escape. */
export function modal(node: HTMLElement, close: () => void) {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  let onClose = close;
  const focusables = () => [...node.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((e) => e.offsetParent !== null || e === document.activeElement);
  if (!node.contains(document.activeElement)) (focusables()[0] ?? node).focus();

  function keys(e: KeyboardEvent) {
    if (e.key === "Escape") {
      e.preventDefault();
      onClose();
      return;
    }
    if (e.key !== "Tab") return;
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
  node.addEventListener("keydown", keys);
  return {
    update(next: () => void) {
      onClose = next;
    },
    destroy() {
      node.removeEventListener("keydown", keys);
      if (opener?.isConnected) opener.focus();
    },
  };
}
