import { expect, it } from "vitest";
import { count } from "./words";

it("counts read right", () => {
  expect(count(0, "comment")).toBe("0 comments");
  expect(count(1, "comment")).toBe("1 comment");
  expect(count(2, "image waits", "images wait")).toBe("2 images wait");
  expect(count(1, "image waits", "images wait")).toBe("1 image waits");
});
