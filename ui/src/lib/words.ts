// Counts in words, so a screen says "1 comment" and "2 comments", never "1 comments".

export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
