import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";

// Script errors are kept in memory (never logged or sent) so the window tests can report them.
const seen: string[] = [];
(window as unknown as { __consiliumErrors: string[] }).__consiliumErrors = seen;
window.addEventListener("error", (e) => seen.push(String(e.error?.stack ?? e.message)));
const consoleError = console.error.bind(console);
console.error = (...args: unknown[]) => {
  seen.push(args.map((a) => (a instanceof Error ? String(a.stack ?? a.message) : String(a))).join(" "));
  consoleError(...args);
};
window.addEventListener("unhandledrejection", (e) => seen.push(String(e.reason?.stack ?? e.reason)));

const target = document.getElementById("app");
if (target) mount(App, { target });
