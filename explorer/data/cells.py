"""Synthetic two-marker immunofluorescence crops of brain-stem neurons.

What is modelled
----------------
Small RGB crops of single neurons from post-mortem human brain-stem tissue, imaged by
fluorescence microscopy after double immunostaining (after a UCSF study of tau pathology and
apoptosis). Each crop belongs to one of three classes:

* class 0, ``CP-13`` (phosphorylated tau, shown in the **red** channel): neurofibrillary
  tangles, a *fibrillar* texture of thin, roughly parallel, slightly bent streaks;
* class 1, ``aCasp-6`` (active caspase-6, an apoptosis marker, **green** channel): a
  *punctate* texture of bright granules over a dimmer diffuse cytoplasm;
* class 2, both markers (**yellow**): red and green over the same cell, but overlapping only
  partly: the green-to-red ratio varies from cell to cell and one side of a cell is often
  redder, the other greener.

Each crop is drawn as a small scene and then "imaged":

1. a soma with a wobbly outline (a radius modulated by a few low-order Fourier harmonics),
   random size, elongation and rotation; often a dimmer nucleus, sometimes a tapering, bent
   process (neurite);
2. marker textures: fibrils (1-D noise across a bent fibre direction, broken into segments by
   smooth 2-D noise) and puncta (Gaussian granules), mixed into each channel by class, plus
   weak non-specific staining and channel cross-talk in the other marker's channel;
3. sometimes a fragment of a neighbouring cell, of any class's colour, entering from an edge;
4. tissue autofluorescence: a low, smooth background in all channels and lipofuscin granules,
   yellowish (red and green, a little blue) and so a source of confusion between classes;
5. a faint blue channel (autofluorescence and bleed-through);
6. out-of-focus blur with a per-image Gaussian width, a random gain, photon shot noise
   (the Gaussian approximation of Poisson noise for a random photon count per image), camera
   read noise and a small black level; then clipping and quantisation to 8 bits.

The classes overlap on purpose (dim red in some class-1 cells, weak green in some class-0
cells, very unequal ratios in some class-2 cells, lipofuscin and neighbours of other colours),
so a pixel classifier separates them well but not perfectly, as with the real data.

Determinism
-----------
Image ``i`` is generated from its own random stream, ``SeedSequence(seed).spawn(n)[i]``
(built directly as ``SeedSequence(seed, spawn_key=(i,))``), so it does not depend on ``n``:
``make_cells(100)`` starts with the 50 images of ``make_cells(50)``. The scene of an image
(its cell, textures and colours) also does not depend on ``size``; only the pixel noise does.
Rendering is vectorised over batches of images, using only per-image operations, so the
batching does not change any pixel.
"""

from __future__ import annotations

import numpy as np

from explorer.data.imageset import ImageSet
from explorer.errors import DataError

CLASS_NAMES = ["CP-13 (tau, red)", "aCasp-6 (apoptosis, green)", "both (yellow)"]

# Per-image random numbers drawn before rendering: a fixed number of uniforms and normals per
# image, handed out in a fixed order, so that the stream of an image never depends on n or size.
_N_UNIFORM = 320
_N_NORMAL = 512

_N_HARMONICS = 4  # wobble of the soma outline: harmonics 2..5
_N_FIBRE_SAMPLES = 64  # 1-D noise samples across the fibre direction, over [-2, 2]
_N_PUNCTA = 36
_N_LIPOFUSCIN = 8
_SMOOTH_GRID = 5  # control points per side of a smooth 2-D noise field
_REFERENCE_SIZE = 28  # pixel widths below are given for a 28-px crop and scale with size
_PIXEL = 2.0 / _REFERENCE_SIZE  # one pixel of a 28-px crop in the normalised coordinates [-1, 1]
_BATCH_PIXELS = 1 << 21  # pixels per channel rendered at once (bounds memory)


def make_cells(
    n: int = 1000, size: int = 28, seed: int = 0, class_fractions=(0.2, 0.4, 0.4)
) -> ImageSet:
    """Make ``n`` synthetic two-marker fluorescence crops of neurons, ``size`` x ``size`` RGB.

    ``class_fractions`` are the probabilities of the classes in :data:`CLASS_NAMES` (they are
    normalised); each image's class is drawn independently. Values are multiples of 1/255.
    """
    n = int(n)
    size = int(size)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"cells: seed must be a non-negative integer, got {seed!r}.")
    seed = int(seed)
    if n < 1:
        raise DataError(f"cells: n must be at least 1, got {n}.")
    if not 16 <= size <= 128:
        raise DataError(f"cells: size must lie between 16 and 128 pixels, got {size}.")
    fractions = np.asarray(class_fractions, dtype=np.float64)
    if fractions.shape != (3,) or not np.isfinite(fractions).all() or (fractions < 0).any() \
            or fractions.sum() <= 0:
        raise DataError(
            f"cells: class_fractions must be three non-negative numbers with a positive sum, "
            f"got {class_fractions!r}."
        )
    cumulative = np.cumsum(fractions / fractions.sum())

    images = np.empty((n, 3, size, size), dtype=np.float32)
    labels = np.empty(n, dtype=np.int64)
    batch = max(1, _BATCH_PIXELS // (size * size))
    for start in range(0, n, batch):
        stop = min(n, start + batch)
        uniforms, normals, pixel_noise = _draw_random_numbers(seed, start, stop, size)
        labels[start:stop] = np.searchsorted(cumulative, uniforms[:, 0], side="right").clip(0, 2)
        images[start:stop] = _render(labels[start:stop], _Params(uniforms[:, 1:], normals),
                                     pixel_noise, size)
    return ImageSet(
        images, labels, list(CLASS_NAMES), [f"cells:{i:06d}" for i in range(n)],
        f"cells(n={n}, size={size}, seed={seed})",
    )


# --------------------------------------------------------------------------- random numbers


def _draw_random_numbers(seed: int, start: int, stop: int, size: int):
    """Each image's uniforms, normals and pixel noise, from its own child seed sequence."""
    count = stop - start
    uniforms = np.empty((count, _N_UNIFORM), dtype=np.float32)
    normals = np.empty((count, _N_NORMAL), dtype=np.float32)
    pixel_noise = np.empty((count, 3, size, size), dtype=np.float32)
    for k, i in enumerate(range(start, stop)):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(i,))))
        uniforms[k] = rng.random(_N_UNIFORM, dtype=np.float32)
        normals[k] = rng.standard_normal(_N_NORMAL, dtype=np.float32)
        pixel_noise[k] = rng.standard_normal((3, size, size), dtype=np.float32)
    return uniforms, normals, pixel_noise


class _Params:
    """Hands out columns of the per-image random numbers, in a fixed order.

    Every call takes its columns whether or not the feature is used, so each parameter always
    reads the same slot of an image's stream.
    """

    def __init__(self, uniforms: np.ndarray, normals: np.ndarray) -> None:
        self._u, self._z = uniforms, normals
        self._iu = self._iz = 0

    def uniform(self, low: float = 0.0, high: float = 1.0, count: int | None = None) -> np.ndarray:
        """Uniforms in [low, high): shape (B, 1, 1) for one, (B, count) for several."""
        k = 1 if count is None else count
        if self._iu + k > self._u.shape[1]:
            raise RuntimeError("cells: ran out of per-image uniforms; raise _N_UNIFORM.")
        u = self._u[:, self._iu:self._iu + k]
        self._iu += k
        u = np.float32(low) + np.float32(high - low) * u
        return u[:, :, None] if count is None else u

    def normal(self, count: int) -> np.ndarray:
        """Standard normals, shape (B, count)."""
        if self._iz + count > self._z.shape[1]:
            raise RuntimeError("cells: ran out of per-image normals; raise _N_NORMAL.")
        z = self._z[:, self._iz:self._iz + count]
        self._iz += count
        return z


# --------------------------------------------------------------------------- helpers


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.float32(0.5) + np.float32(0.5) * np.tanh(np.float32(0.5) * x)


def _either(condition: np.ndarray, a: float, b: float) -> np.ndarray:
    """``a`` where condition holds, else ``b``, as float32."""
    return np.where(condition, np.float32(a), np.float32(b))


def _coordinates(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres in [-1, 1]: x varies along columns, y along rows, shapes (1, H, W)."""
    c = ((np.arange(size, dtype=np.float32) + np.float32(0.5)) * np.float32(2.0 / size)
         - np.float32(1.0))
    return c[None, None, :], c[None, :, None]


def _smooth_basis(size: int, grid: int, extent: float = 1.3) -> np.ndarray:
    """A (size, grid) matrix that spreads grid control values smoothly over the pixels."""
    x = (np.arange(size, dtype=np.float64) + 0.5) * (2.0 / size) - 1.0
    centres = np.linspace(-extent, extent, grid)
    width = centres[1] - centres[0]
    w = np.exp(-0.5 * ((x[:, None] - centres[None, :]) / (0.8 * width)) ** 2)
    w /= np.sqrt((w ** 2).sum(axis=1, keepdims=True))
    return w.astype(np.float32)


def _draw_smooth_noise(p: _Params, size: int, grid: int = _SMOOTH_GRID) -> np.ndarray:
    """A smooth random field of roughly unit variance, shape (B, H, W)."""
    z = p.normal(grid * grid).reshape(-1, grid, grid)
    basis = _smooth_basis(size, grid)
    return basis[None] @ z @ basis.T[None]


def _gaussian_rows(centres: np.ndarray, sigma: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """exp(-(coords - centre)^2 / 2 sigma^2) for (B, K) centres over 1-D coords: (B, K, L)."""
    d = (coords.reshape(1, 1, -1) - centres[:, :, None]) / sigma.reshape(-1, 1, 1)
    return np.exp(np.float32(-0.5) * d * d)


def _draw_blobs(xc, yc, amplitude, sigma, size: int) -> np.ndarray:
    """A sum of round Gaussian blobs (B, K) rendered separably, shape (B, H, W).

    Each blob is widened by the pixel's own footprint (and dimmed to keep its light), so a
    granule smaller than a pixel of a small crop still shows instead of falling between pixels.
    """
    x, _ = _coordinates(size)
    footprint = np.float32((2.0 / size) ** 2 / 12)
    wide = np.sqrt(sigma * sigma + footprint)
    amplitude = amplitude * ((sigma * sigma) / (wide * wide))[:, None]
    gx = _gaussian_rows(xc, wide, x)  # (B, K, W)
    gy = _gaussian_rows(yc, wide, x) * amplitude[:, :, None]  # (B, K, H)
    return np.swapaxes(gy, 1, 2) @ gx


# --------------------------------------------------------------------------- the scene


def _draw_soma(p: _Params, size: int):
    """The cell body: a soft mask with a wobbly, elongated, rotated outline, and its frame."""
    x, y = _coordinates(size)
    cx = np.clip(p.uniform(-1, 1) * p.uniform(0, 0.22), -0.25, 0.25)
    cy = np.clip(p.uniform(-1, 1) * p.uniform(0, 0.22), -0.25, 0.25)
    radius = p.uniform(0.28, 0.6)
    elongation = 1 + 0.6 * p.uniform() ** 1.5
    angle = p.uniform(0, 2 * np.pi)
    wobble = p.uniform(0.06, 0.32)
    amp = p.uniform(0, 1, _N_HARMONICS)
    phase = p.uniform(0, 2 * np.pi, _N_HARMONICS)
    edge = p.uniform(0.6, 1.3) * _PIXEL

    dx, dy = x - cx, y - cy
    ca, sa = np.cos(angle), np.sin(angle)
    s = np.sqrt(elongation)
    a = (dx * ca + dy * sa) / s
    b = (-dx * sa + dy * ca) * s
    rho = np.sqrt(a * a + b * b)
    phi = np.arctan2(b, a)
    outline = np.ones_like(phi)
    for k in range(_N_HARMONICS):
        h = k + 2
        outline = outline + (wobble[:, :, 0] * amp[:, k:k + 1] / h ** 0.7)[:, :, None] * np.cos(
            h * phi + phase[:, k:k + 1, None])
    r = radius * np.maximum(outline, 0.45)
    mask = _sigmoid((r - rho) / edge)
    frame = dict(cx=cx, cy=cy, radius=radius, angle=angle, elongation=elongation,
                 rho_rel=rho / r, edge=edge)
    return mask.astype(np.float32), frame


def _draw_nucleus(p: _Params, frame: dict, size: int) -> np.ndarray:
    """How much light the nucleus removes: a soft dark disc (0 where no nucleus)."""
    x, y = _coordinates(size)
    present = p.uniform() < 0.6
    off_r = p.uniform(0, 0.35) * frame["radius"]
    off_a = p.uniform(0, 2 * np.pi)
    nr = p.uniform(0.28, 0.45) * frame["radius"]
    depth = p.uniform(0.3, 0.85)
    nx = frame["cx"] + off_r * np.cos(off_a)
    ny = frame["cy"] + off_r * np.sin(off_a)
    d = np.sqrt((x - nx) ** 2 + (y - ny) ** 2)
    hole = _sigmoid((nr - d) / frame["edge"])
    return (present * depth * hole).astype(np.float32)


def _draw_neurite(p: _Params, frame: dict, size: int) -> np.ndarray:
    """A tapering, bent process leaving the soma (0 where the cell has none)."""
    x, y = _coordinates(size)
    present = p.uniform() < 0.45
    angle = frame["angle"] + _either(p.uniform() < 0.6, 0.0, np.pi / 2) + p.uniform(-0.5, 0.5) \
        + _either(p.uniform() < 0.5, 0.0, np.pi)
    length = frame["radius"] * p.uniform(1.6, 3.5)
    width = frame["radius"] * p.uniform(0.18, 0.38)
    bend = p.uniform(-0.8, 0.8)
    brightness = p.uniform(0.45, 0.95)
    dx, dy = x - frame["cx"], y - frame["cy"]
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle) - bend * u * u / length
    t = np.clip(u / length, 0, 1)
    w = width * (1 - 0.7 * t) + 0.3 * _PIXEL
    along = _sigmoid(u / frame["edge"]) * _sigmoid((length - u) / (2 * frame["edge"]))
    return (present * brightness * along * np.exp(-0.5 * (v / w) ** 2)).astype(np.float32)


def _noise_across(values: np.ndarray, v: np.ndarray) -> np.ndarray:
    """1-D noise ``values`` (B, S), sampled over [-2, 2], read off at coordinates v (B, H, W)."""
    samples = values.shape[1]
    pos = (np.clip(v, -1.99, 1.99) + 2.0) * ((samples - 1) / 4.0)
    i0 = np.floor(pos).astype(np.int64)
    frac = (pos - i0).astype(np.float32)
    flat = i0.reshape(len(values), -1)
    lo = np.take_along_axis(values, flat, axis=1).reshape(i0.shape)
    hi = np.take_along_axis(values, flat + 1, axis=1).reshape(i0.shape)
    return lo + (hi - lo) * frac


def _draw_fibrils(p: _Params, frame: dict, size: int) -> np.ndarray:
    """Tangle texture: thin, wavy, roughly parallel streaks broken into segments, (B, H, W).

    Two bundles of fibres a little apart in angle; each is 1-D noise across its direction,
    bent and warped so the fibres wander, then thresholded and broken up by smooth noise.
    Zero between fibres, a few units on the brightest ones.
    """
    x, y = _coordinates(size)
    angle = frame["angle"] + np.where(p.uniform() < 0.7, 0.0, p.uniform(0, np.pi)) \
        + p.uniform(-0.3, 0.3)
    spread = p.uniform(0.15, 0.6) * _either(p.uniform() < 0.5, -1.0, 1.0)
    bend = p.uniform(-0.9, 0.9)
    threshold = p.uniform(-0.3, 0.5)
    second = p.uniform(0.3, 0.8)
    warp = p.uniform(0.03, 0.12)
    across = p.normal(2 * _N_FIBRE_SAMPLES).reshape(-1, 2, _N_FIBRE_SAMPLES)
    wander = _draw_smooth_noise(p, size, grid=6)
    segments = _draw_smooth_noise(p, size, grid=7)

    dx, dy = x - frame["cx"], y - frame["cy"]
    streak = 0
    for k, (turn, weight) in enumerate([(0.0, 1.0), (spread, second)]):
        a = angle + turn
        u = dx * np.cos(a) + dy * np.sin(a)
        v = -dx * np.sin(a) + dy * np.cos(a) + bend * u * u + warp * wander
        streak = streak + weight * np.maximum(_noise_across(across[:, k], v) - threshold, 0)
    broken = streak * (0.25 + 0.75 * _sigmoid(2 * segments))
    return (1.6 * broken).astype(np.float32)


def _draw_puncta(p: _Params, frame: dict, size: int) -> np.ndarray:
    """Granular texture: bright Gaussian dots scattered over the soma, (B, H, W)."""
    count = p.uniform(14, _N_PUNCTA)
    sigma = p.uniform(0.55, 0.95) * _PIXEL
    r = frame["radius"][:, :, 0] * 0.95 * np.sqrt(p.uniform(0, 1, _N_PUNCTA))
    a = p.uniform(0, 2 * np.pi, _N_PUNCTA)
    brightness = -np.log(p.uniform(0.02, 1, _N_PUNCTA)) * 0.7
    active = np.arange(_N_PUNCTA)[None, :] < count[:, :, 0]
    ca, sa = np.cos(frame["angle"][:, :, 0]), np.sin(frame["angle"][:, :, 0])
    s = np.sqrt(frame["elongation"][:, :, 0])
    lx, ly = r * np.cos(a) * s, r * np.sin(a) / s
    xc = frame["cx"][:, :, 0] + lx * ca - ly * sa
    yc = frame["cy"][:, :, 0] + lx * sa + ly * ca
    return _draw_blobs(xc, yc, (brightness * active).astype(np.float32), sigma[:, 0, 0], size)


def _draw_marker_amplitudes(p: _Params, labels: np.ndarray):
    """Red (CP-13) and green (aCasp-6) stain strengths per image, by class, (B, 1, 1) each."""
    strong = p.uniform(0.5, 1.0)
    weak = strong * (0.02 + 0.24 * p.uniform() ** 3)
    mixed_total = p.uniform(0.5, 1.05)
    log_ratio = np.clip(-0.15 + p.normal(1)[:, :, None] * 0.5, -1.4, 1.3)  # log(green / red)
    red2 = mixed_total / (1 + np.exp(log_ratio)) * 1.6
    green2 = mixed_total / (1 + np.exp(-log_ratio)) * 1.6
    lab = labels[:, None, None]
    red = np.where(lab == 0, strong, np.where(lab == 1, weak, red2))
    green = np.where(lab == 0, weak, np.where(lab == 1, strong, green2))
    return red.astype(np.float32), green.astype(np.float32)


def _draw_colour_split(p: _Params, frame: dict, size: int) -> np.ndarray:
    """Where a double-stained cell is redder (near 1) or greener (near 0), (B, H, W)."""
    x, y = _coordinates(size)
    direction = p.uniform(0, 2 * np.pi)
    steepness = p.uniform(0.5, 3.0)
    patchy = _draw_smooth_noise(p, size, grid=4)
    along = ((x - frame["cx"]) * np.cos(direction) + (y - frame["cy"]) * np.sin(direction)) \
        / frame["radius"]
    return _sigmoid(steepness * along + 0.9 * patchy).astype(np.float32)


def _draw_neighbour(p: _Params, fibrils: np.ndarray, size: int):
    """A fragment of another cell entering from an edge: its (red, green) light, (B, H, W)."""
    x, y = _coordinates(size)
    present = p.uniform() < 0.35
    where = p.uniform(0, 2 * np.pi)
    dist = p.uniform(1.0, 1.45)
    radius = p.uniform(0.35, 0.75)
    amp = p.uniform(0, 1, 3)
    phase = p.uniform(0, 2 * np.pi, 3)
    kind = p.uniform()
    brightness = p.uniform(0.25, 0.85)
    ratio = p.uniform(0.05, 0.5)
    texture = _draw_smooth_noise(p, size, grid=6)

    dx, dy = x - dist * np.cos(where), y - dist * np.sin(where)
    rho = np.sqrt(dx * dx + dy * dy)
    phi = np.arctan2(dy, dx)
    outline = 1 + sum(0.12 * amp[:, k:k + 1, None] * np.cos((k + 2) * phi + phase[:, k:k + 1, None])
                      for k in range(3))
    body = present * brightness * _sigmoid((radius * outline - rho) / (1.0 * _PIXEL))
    body = body * np.clip(0.75 + 0.35 * texture, 0.2, None)
    red_share = np.where(kind < 1 / 3, 1, np.where(kind < 2 / 3, ratio, 1))
    green_share = np.where(kind < 1 / 3, ratio, np.where(kind < 2 / 3, 1.0, 0.5 + ratio))
    red = body * red_share * (0.6 + 0.6 * fibrils)
    green = body * green_share
    return red.astype(np.float32), green.astype(np.float32)


def _draw_lipofuscin(p: _Params, frame: dict, size: int) -> np.ndarray:
    """Autofluorescent lipofuscin granules, mostly in the soma, as one (B, H, W) field."""
    count = _N_LIPOFUSCIN * p.uniform() ** 2.5
    inside = p.uniform(0, 1, _N_LIPOFUSCIN) < 0.7
    r = frame["radius"][:, :, 0] * 0.9 * np.sqrt(p.uniform(0, 1, _N_LIPOFUSCIN))
    a = p.uniform(0, 2 * np.pi, _N_LIPOFUSCIN)
    anywhere_x = p.uniform(-1, 1, _N_LIPOFUSCIN)
    anywhere_y = p.uniform(-1, 1, _N_LIPOFUSCIN)
    brightness = p.uniform(0.15, 0.75, _N_LIPOFUSCIN)
    sigma = p.uniform(0.6, 1.2) * _PIXEL
    xc = np.where(inside, frame["cx"][:, :, 0] + r * np.cos(a), anywhere_x)
    yc = np.where(inside, frame["cy"][:, :, 0] + r * np.sin(a), anywhere_y)
    active = np.arange(_N_LIPOFUSCIN)[None, :] < count[:, :, 0]
    return _draw_blobs(xc, yc, (brightness * active).astype(np.float32), sigma[:, 0, 0], size)


def _draw_background(p: _Params, size: int) -> np.ndarray:
    """Tissue autofluorescence: a low, smooth, slightly varying glow per channel, (B, 3, H, W)."""
    level = p.uniform(0.01, 0.07)
    common = _draw_smooth_noise(p, size, grid=4)
    tint = np.stack([p.uniform(0.8, 1.2), p.uniform(0.8, 1.3), p.uniform(0.4, 0.8)], axis=1)
    own = np.stack([_draw_smooth_noise(p, size, grid=4) for _ in range(3)], axis=1)
    field = np.clip(1 + 0.5 * common[:, None] + 0.2 * own, 0, None)
    return (level[:, None] * tint * field).astype(np.float32)


# --------------------------------------------------------------------------- imaging


def _blur(images: np.ndarray, sigma: np.ndarray, size: int) -> np.ndarray:
    """Out-of-focus blur: a Gaussian of per-image width (B,), applied separably."""
    x = (np.arange(size, dtype=np.float32) + np.float32(0.5)) * np.float32(2.0 / size)
    d = (x[None, :, None] - x[None, None, :]) / sigma[:, None, None]
    k = np.exp(np.float32(-0.5) * d * d)
    k = k / k.sum(axis=2, keepdims=True)
    k = k[:, None].astype(np.float32)
    return k @ images @ np.swapaxes(k, 2, 3)


def _add_camera_noise(p: _Params, light: np.ndarray, pixel_noise: np.ndarray) -> np.ndarray:
    """Gain, shot noise for a random photon count, read noise and a black level, (B, 3, H, W)."""
    gain = np.exp(p.uniform(-0.4, 0.15))[:, None]
    photons = np.exp(p.uniform(np.log(25.0), np.log(500.0)))[:, None]
    read = p.uniform(0.004, 0.018)[:, None]
    black = p.uniform(0.0, 0.02)[:, None]
    signal = np.maximum(light * gain, 0)
    noisy = signal + np.sqrt(signal / photons + read * read) * pixel_noise + black
    return noisy.astype(np.float32)


def _render(labels: np.ndarray, p: _Params, pixel_noise: np.ndarray, size: int) -> np.ndarray:
    """Draw and image the scenes of one batch: float32 (B, 3, H, W) quantised to 1/255."""
    soma, frame = _draw_soma(p, size)
    hole = _draw_nucleus(p, frame, size)
    neurite = _draw_neurite(p, frame, size)
    fibrils = _draw_fibrils(p, frame, size)
    puncta = _draw_puncta(p, frame, size)
    red_amp, green_amp = _draw_marker_amplitudes(p, labels)
    split = _draw_colour_split(p, frame, size)
    shading = np.clip(1 + 0.25 * _draw_smooth_noise(p, size, grid=5), 0.3, None)
    fibrillar_share = p.uniform(0.55, 0.9)
    punctate_share = p.uniform(0.45, 0.8)
    crosstalk = p.uniform(0.0, 0.6)
    split_strength = p.uniform(0.15, 0.55)

    cell = np.maximum(soma * (1 - hole) * shading, neurite * shading)
    rim = 0.8 + 0.35 * np.clip(frame["rho_rel"], 0, 1)  # tangles crowd the periphery a little
    red_pattern = cell * ((1 - fibrillar_share) * rim + fibrillar_share * fibrils)
    green_pattern = cell * ((1 - punctate_share) + punctate_share * 0.9 * puncta)
    # A weak channel shows diffuse non-specific staining and some of the other marker's pattern.
    red_weak = (1 - crosstalk) * cell + crosstalk * green_pattern
    green_weak = (1 - crosstalk) * cell + crosstalk * red_pattern
    lab = labels[:, None, None]
    double = lab == 2
    red_shape = np.where(lab == 1, red_weak, red_pattern)
    green_shape = np.where(lab == 0, green_weak, green_pattern)
    red_shape = np.where(double, red_shape * (1 - split_strength + 2 * split_strength * split),
                         red_shape)
    green_shape = np.where(double,
                           green_shape * (1 + split_strength - 2 * split_strength * split),
                           green_shape)
    red = red_amp * red_shape
    green = green_amp * green_shape

    n_red, n_green = _draw_neighbour(p, fibrils, size)
    lipo = _draw_lipofuscin(p, frame, size)
    lipo_green = p.uniform(0.65, 1.05)
    lipo_blue = p.uniform(0.25, 0.55)
    cell_glow = p.uniform(0.02, 0.08) * (cell + (n_red + n_green > 0.05))
    blue_bleed = p.uniform(0.02, 0.08)

    light = _draw_background(p, size)
    light[:, 0] += red + n_red + lipo + cell_glow
    light[:, 1] += green + n_green + lipo_green * lipo + cell_glow
    light[:, 2] += lipo_blue * lipo + 0.6 * cell_glow + blue_bleed * (red + green + n_red + n_green)

    sigma = (0.3 + 1.3 * p.uniform()[:, 0, 0] ** 1.5) * _PIXEL
    light = _blur(light, sigma.astype(np.float32), size)
    noisy = _add_camera_noise(p, light, pixel_noise)
    return (np.round(np.clip(noisy, 0, 1) * 255) / 255).astype(np.float32)
