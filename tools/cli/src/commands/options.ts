import { InvalidArgumentError } from 'commander';

/** Commander parser for an integer option within [min, max]. */
export function intOption(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer in ${min}..${max}, got "${value}"`);
    return n;
  };
}

/** Commander parser for a number option within [min, max]. */
export function numberOption(min: number, max = Infinity): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a number in ${min}..${max}, got "${value}"`);
    return n;
  };
}
