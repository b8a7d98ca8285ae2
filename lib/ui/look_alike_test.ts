import assert from "node:assert/strict";
import { lookAlikeForms } from "./look_alike.ts";

/** Whether a reader takes `one` for `other`: the two names share a form. */
function alike(one: string, other: string): boolean {
  const forms = lookAlikeForms(one);
  return lookAlikeForms(other).some((form) => forms.includes(form));
}

Deno.test("lookAlikeForms - names a reader takes for one another share a form", () => {
  // Case, Cyrillic and Greek letters, a digit for a letter, full-width letters.
  for (const name of ["sam", "SAM", "Ѕаm", "5am", "Ｓａｍ", "ꜱᴀᴍ"]) {
    assert.ok(alike("Sam", name), name);
  }
  assert.ok(alike("Bill", "BiII"));
  assert.ok(alike("Bill", "Bi11"));
  assert.ok(alike("modern", "modem"));
  assert.ok(alike("Олег", "олег"));
});

Deno.test("lookAlikeForms - case alone never sets names apart, in any script", () => {
  for (
    const [one, other] of [["Ivan", "ivan"], ["IRIS", "Iris"], ["Вера", "вера"], ["Νίκος", "νίκος"]]
  ) {
    assert.ok(alike(one, other), `${one} and ${other}`);
  }
});

Deno.test("lookAlikeForms - names that read differently share no form", () => {
  for (
    const [one, other] of [["Sam", "Pam"], ["Sam", "Sám"], ["ann", "anne"], ["李", "季"], [
      "Kai",
      "Kal",
    ], [
      "Jo Ann",
      "Joann",
    ]]
  ) {
    assert.ok(!alike(one, other), `${one} and ${other}`);
  }
});

Deno.test("lookAlikeForms - Cherokee, Lisu and Armenian letters, and hidden joiners, read as what they look like", () => {
  for (const name of ["ꓮlice", "Ꭺlice"]) assert.ok(alike("Alice", name), name);
  assert.ok(alike("ALICE", "ᎪᏞICE"));
  assert.ok(alike("bob", "ƅob"));
  assert.ok(alike("Ann", "Aոn"));
  assert.ok(alike("Greg", "Greց"));
  assert.ok(alike("علي", "ع\u200dلي"), "a joiner between letters that join anyway");
  assert.ok(!alike("Ann", "Ana"));
});

Deno.test("lookAlikeForms - Cherokee passes for a Latin name in either case, as Latin does", () => {
  // Cherokee letters have small forms, drawn as small capitals, which lowering a name gives.
  assert.ok(alike("alice", "ᎪᏞICE"), "as ALICE does");
  assert.ok(alike("Alice", "ꭺlice"), "a small Cherokee a");
  assert.ok(alike("dave", "ꭰave"));
  assert.ok(!alike("Ann", "ꭰnn"));
});
