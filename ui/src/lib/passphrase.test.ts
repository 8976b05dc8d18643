import { expect, test } from "vitest";
import { entropyBits, passphraseProblem, strength } from "./passphrase";

test("short, repetitive and keyboard-walk passphrases are refused", () => {
  expect(strength("abc")).toBe("too_short");
  expect(strength("aaaaaaaaaaaaaaaa")).toBe("weak");
  expect(strength("password1234")).toBe("weak");
  expect(entropyBits("qwertyuiop12")).toBeLessThan(entropyBits("plum-Violet 42 ferry"));
});

test("a few unrelated words are strong, and confirmation must match", () => {
  expect(strength("correct horse battery staple")).toBe("strong");
  expect(passphraseProblem("correct horse battery staple", "correct horse battery stapel")).toMatch(
    /differ/,
  );
  expect(passphraseProblem("correct horse battery staple", "correct horse battery staple")).toBeNull();
});
