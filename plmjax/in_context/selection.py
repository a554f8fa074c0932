"""Which training examples a k-shot prompt shows, and in which order.

random: one set of k distinct examples per seed, shown to every query (GPT-3's and Zhao et al.'s protocol);
similar: for each query the k training examples nearest by cosine similarity of sentence embeddings (KATE, Liu
et al. 2022), the most similar last, next to the query. Orderings: the permutations of one set a sensitivity
study scores (the first is the set's own order).
"""

import numpy as np


def random_demonstrations(num_train: int, k: int, seed: int) -> np.ndarray:
    """k distinct training indices (k = 0: none, the zero-shot prompt)."""
    if not 0 <= k <= num_train:
        raise ValueError(f"k={k} demonstrations from {num_train} training examples")
    return np.random.default_rng([seed, 0]).choice(num_train, k, replace=False).astype(np.int64)


def similar_demonstrations(train_embeddings, query_embeddings, k: int) -> np.ndarray:
    """[queries, k] training indices, each row from least to most similar (ties: the lower index first)."""
    train = np.asarray(train_embeddings, np.float64)
    queries = np.asarray(query_embeddings, np.float64)
    if not 0 < k <= len(train):
        raise ValueError(f"k={k} demonstrations from {len(train)} training examples")
    train = train / np.linalg.norm(train, axis=-1, keepdims=True)
    queries = queries / np.linalg.norm(queries, axis=-1, keepdims=True)
    similarity = queries @ train.T
    best = np.argsort(-similarity, axis=-1, kind="stable")[:, :k]
    return best[:, ::-1]


def orderings(k: int, count: int, seed: int) -> list[np.ndarray]:
    """`count` distinct orders of k demonstrations (fewer if k! is smaller): the identity first, then seeded
    random permutations."""
    import math

    count = min(count, math.factorial(k))
    rng = np.random.default_rng([seed, 1])
    found = [tuple(range(k))]
    while len(found) < count:
        order = tuple(int(i) for i in rng.permutation(k))
        if order not in found:
            found.append(order)
    return [np.asarray(order, np.int64) for order in found]
