#!/usr/bin/env python3
"""TRE (mm) of a found transform against a phantom's true pre->post motion.

usage: tre.py PAIR_DIR (mrivol REG_DIR | elastix TransformParameters.0.txt)
Points: the pre scan's spinal canal (truth/pre_canal.nii.gz > 0). Prints
"median max" in mm. Needs only the Python standard library.
"""
import gzip, json, math, re, struct, sys


def canal_points(path, step=2):
    raw = gzip.open(path).read()
    dims = struct.unpack('<8h', raw[40:56])
    datatype = struct.unpack('<h', raw[70:72])[0]
    srow = [struct.unpack('<4f', raw[280 + 16 * r:296 + 16 * r]) for r in range(3)]
    nx, ny, nz = dims[1], dims[2], dims[3]
    off = int(struct.unpack('<f', raw[108:112])[0])
    size = {2: 1, 4: 2, 16: 4}[datatype]
    fmt = {2: 'B', 4: 'h', 16: 'f'}[datatype]
    pts = []
    for k in range(nz):
        for j in range(0, ny, step):
            for i in range(0, nx, step):
                idx = off + size * ((k * ny + j) * nx + i)
                if struct.unpack('<' + fmt, raw[idx:idx + size])[0] > 0:
                    ras = [srow[r][0] * i + srow[r][1] * j + srow[r][2] * k + srow[r][3] for r in range(3)]
                    pts.append((-ras[0], -ras[1], ras[2]))  # RAS -> LPS
    return pts


def mrivol_transform(reg_dir):
    t = json.load(open(reg_dir + '/registration.json'))['transform']
    m, tr = t['matrix'], t['translation_mm']
    return lambda p: [sum(m[i][k] * p[k] for k in range(3)) + tr[i] for i in range(3)]


def elastix_transform(path):
    txt = open(path).read()
    p = [float(x) for x in re.search(r'\(TransformParameters ([^)]*)\)', txt).group(1).split()]
    c = [float(x) for x in re.search(r'\(CenterOfRotationPoint ([^)]*)\)', txt).group(1).split()]
    rx, ry, rz, tx, ty, tz = p
    mm = lambda a, b: [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]
    Rx = [[1, 0, 0], [0, math.cos(rx), -math.sin(rx)], [0, math.sin(rx), math.cos(rx)]]
    Ry = [[math.cos(ry), 0, math.sin(ry)], [0, 1, 0], [-math.sin(ry), 0, math.cos(ry)]]
    Rz = [[math.cos(rz), -math.sin(rz), 0], [math.sin(rz), math.cos(rz), 0], [0, 0, 1]]
    R = mm(Rz, mm(Rx, Ry))  # ITK Euler3DTransform (ZXY order)
    t = (tx, ty, tz)
    return lambda q: [sum(R[i][k] * (q[k] - c[k]) for k in range(3)) + c[i] + t[i] for i in range(3)]


def main():
    pair, kind, where = sys.argv[1:4]
    truth = json.load(open(pair + '/truth/truth.json'))['motion']['pre_to_post_lps']
    true = lambda p: [sum(truth[i][k] * p[k] for k in range(3)) + truth[i][3] for i in range(3)]
    found = mrivol_transform(where) if kind == 'mrivol' else elastix_transform(where)
    errs = sorted(math.dist(true(p), found(p)) for p in canal_points(pair + '/truth/pre_canal.nii.gz'))
    print('%.4f %.4f' % (errs[len(errs) // 2], errs[-1]))


main()
