import { describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '../../src/core/errors.js';
import { describe as describeValue, integerInRange } from '../../src/core/validate.js';

describe('validate', () => {
  it('describes values briefly', () => {
    expect(describeValue(-1)).toBe('-1 (number)');
    expect(describeValue(new Float32Array(3))).toBe('Float32Array of length 3');
    expect(describeValue(null)).toBe('null');
    expect(describeValue([1, 2])).toBe('an array of length 2');
    expect(describeValue('x'.repeat(100))).toContain('…');
  });

  it('integerInRange names the argument and the range', () => {
    expect(integerInRange(5, 'n', 0, 10)).toBe(5);
    expect(() => integerInRange(1.5, 'options.rows', 0, 10)).toThrow(
      'Expected an integer between 0 and 10 for options.rows but received 1.5 (number)',
    );
    expect(() => integerInRange('3', 'n', 0, 10)).toThrow(InvalidArgumentError);
  });
});
