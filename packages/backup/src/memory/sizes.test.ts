import { describe, expect, it } from 'vitest';
import { formatFpconv, scoreToBytes } from './sizes.js';

describe('formatFpconv', () => {
  it('lays out the shortest digits like fpconv_dtoa (plain decimal, or d.ddde±x past its limits)', () => {
    const cases: Array<[number, string]> = [
      [0.5, '0.5'],
      [-0.5, '-0.5'],
      [1e-7, '1e-7'],
      [0.000015, '0.000015'],
      [0.0000123456789, '1.23456789e-5'],
      [12345.6789123, '1.23456789123e+4'],
      [12345.678912, '12345.678912'],
      [0.001234, '0.001234'],
      [123.456, '123.456'],
      [-0.000001, '-0.000001'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [5e-324, '5e-324'],
      [0.1, '0.1'],
      [1234567.1234567, '1.2345671234567e+6'],
      [-321.163, '-321.163'],
    ];
    for (const [x, text] of cases) expect(formatFpconv(x), String(x)).toBe(text);
    expect(scoreToBytes(12345.6789123).toString()).toBe('1.23456789123e+4');
  });
});
