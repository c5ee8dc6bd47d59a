import { describe, expect, it } from 'vitest';
import { closestMatch, editDistance } from '../../src/config/suggest.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['streams', 'strems', 1],
    ['kitten', 'sitting', 3],
    ['flaw', 'lawn', 2],
    ['pks', 'psk', 1],
    ['ab', 'ba', 1],
    ['ca', 'abc', 3],
  ])('%j ↔ %j = %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('closestMatch', () => {
  const jobKeys = ['engine', 'sources', 'excludes', 'repository', 'password', 'profile', 'streams', 'bandwidthLimit'];

  it.each([
    ['strems', 'streams'],
    ['source', 'sources'],
    ['repo', undefined],
    ['pasword', 'password'],
    ['sorces', 'sources'],
    ['excldues', 'excludes'],
    ['Streams', 'streams'],
    ['BANDWIDTHLIMIT', 'bandwidthLimit'],
    ['bandwidthlimt', 'bandwidthLimit'],
    ['profiles', 'profile'],
    ['foo', undefined],
    ['x'.repeat(500), undefined],
  ])('%j → %j', (word, expected) => {
    expect(closestMatch(word, jobKeys)).toBe(expected);
  });
});
