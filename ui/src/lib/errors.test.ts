import { expect, test } from "vitest";
import { describe as explain, isPublicError } from "./errors";

test("each engine error is explained by its code, not by its message", () => {
  const wrong = explain({ code: "wrong_passphrase", message: "anything at all" });
  expect(wrong.title).toMatch(/passphrase/);
  expect(wrong.detail).toBe("anything at all");
  expect(explain({ code: "offline", message: "" }).title).toMatch(/^Offline/);
});

test("a value that is not an engine error is an internal error, never shown raw", () => {
  expect(isPublicError("a string")).toBe(false);
  expect(isPublicError({ code: "made_up", message: "x" })).toBe(false);
  expect(explain(new Error("boom")).title).toMatch(/inside Consilium/);
});
