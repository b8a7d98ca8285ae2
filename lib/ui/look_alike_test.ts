import assert from "node:assert/strict";
import { lookAlike } from "./look_alike.ts";

Deno.test("lookAlike - names a reader takes for one another have one form", () => {
  const sam = lookAlike("Sam");
  // Case, Cyrillic and Greek letters, a digit for a letter, full-width letters.
  for (const name of ["sam", "SAM", "Ѕаm", "5am", "Ｓａｍ", "S am"]) {
    assert.equal(lookAlike(name), sam, name);
  }
  assert.equal(lookAlike("Bill"), lookAlike("BiII"));
  assert.equal(lookAlike("Bill"), lookAlike("Bi11"));
  assert.equal(lookAlike("modern"), lookAlike("modem"));
  assert.equal(lookAlike("Олег"), lookAlike("олег"));
});

Deno.test("lookAlike - names that read differently keep different forms", () => {
  for (const [one, other] of [["Sam", "Pam"], ["Sam", "Sám"], ["ann", "anne"], ["李", "季"]]) {
    assert.notEqual(lookAlike(one), lookAlike(other), `${one} and ${other}`);
  }
});
