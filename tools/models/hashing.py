"""Feature hashing shared by training (here) and serving (TypeScript).

bucket(field, value) = (fnv1a32(utf8(str(value))) + shift[field]) mod buckets.
The TypeScript side hashes String(value); for the integer ids used here str() and String() agree.
"""

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619


def fnv1a32(text: str) -> int:
    """FNV-1a, 32 bit, over the UTF-8 bytes of text."""
    h = FNV_OFFSET
    for byte in text.encode("utf-8"):
        h ^= byte
        h = (h * FNV_PRIME) & 0xFFFFFFFF
    return h


def bucket(field: str, value, shift: dict, buckets: int) -> int:
    return (fnv1a32(str(value)) + shift[field]) % buckets


def bucket_array(field: str, values, shift: dict, buckets: int):
    """Buckets for many values; ids repeat a lot, so hash each distinct value once."""
    import numpy as np

    values = np.asarray(values)
    uniq, inverse = np.unique(values, return_inverse=True)
    table = np.array([bucket(field, int(v), shift, buckets) for v in uniq], dtype=np.int64)
    return table[inverse].reshape(values.shape)


def test_vectors(fields, shift: dict, buckets: int):
    """A few (field, value) -> bucket pairs, including non-ASCII text, for the TypeScript hash to check."""
    values = ["0", "1", "42", "2999", "4999", "123456789", "", "user-7", "ñandú", "日本語"]
    vectors = []
    for i, field in enumerate(fields):
        for value in values[i % 3 :: 3] + ["42"]:
            vectors.append(
                {"field": field, "value": value, "fnv1a32": fnv1a32(value), "bucket": bucket(field, value, shift, buckets)}
            )
    return vectors
