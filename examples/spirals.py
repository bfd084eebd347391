"""Three interleaved spirals of 2-D points, one class each (as in Stanford's CS231n notes):
writes spirals.csv beside this script, the data of spirals.net. Run: python3 spirals.py"""

import math
import os
import random


def spirals(points=100, classes=3, seed=0):
    rng = random.Random(seed)
    rows = []
    for k in range(classes):
        for i in range(points):
            r = i / (points - 1)  # radius 0..1
            angle = k * 4 + 4 * r + rng.gauss(0, 0.2)
            onehot = [1 if j == k else 0 for j in range(classes)]
            rows.append([r * math.sin(angle), r * math.cos(angle), *onehot])
    return rows


if __name__ == "__main__":
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spirals.csv")
    with open(path, "w") as fh:
        fh.write("x1,x2,Y1,Y2,Y3\n")
        for row in spirals():
            fh.write(",".join(f"{v:.6g}" for v in row) + "\n")
