const GENDERS: Readonly<Record<string, "f" | "m">> = {
  f: "f",
  female: "f",
  woman: "f",
  w: "f",
  girl: "f",
  m: "m",
  male: "m",
  man: "m",
  boy: "m",
};

/**
 * `f` or `m` from common words (female/f/woman → f, male/m/man → m), read from the letters
 * alone as Meta's SDK does (`F.`, ` Fe-male ` → f); anything else is dropped.
 */
export function normalizeGender(value: string): "f" | "m" | undefined {
  return GENDERS[value.normalize("NFKC").toLowerCase().replace(/\P{L}/gu, "")];
}
