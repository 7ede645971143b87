"""The ``workbench embed`` verb: 2-D/3-D maps of note features."""

from __future__ import annotations

import argparse

from cli.options import add_compute_args, comma_choices, compute_from_args, integer


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the embed verb to the ``workbench`` command."""
    em = sub.add_parser("embed", help="2-D/3-D maps of note features",
                        description="Embed the corpus notes' features with PCA, t-SNE (2-D, 3-D) and UMAP; "
                                    "writes coordinates with note metadata (CSV), PNGs and plotly HTML.")
    em.add_argument("--corpus", required=True)
    em.add_argument("--features", default="mfcc", help="mfcc, scattering or latent:RUN_DIR (one; + joins sets)")
    em.add_argument("--methods", default="pca,tsne,tsne3d,umap")
    em.add_argument("--color", default="family,pitch", help="comma list of family, pitch, velocity, source")
    em.add_argument("--split", help="only this split (train, valid, test); default all")
    em.add_argument("--cache", default="reports/cache")
    em.add_argument("--out", required=True)
    em.add_argument("--seed", type=integer, default=0)
    add_compute_args(em)
    em.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the feature maps; returns the exit status."""
    from analysis.embeddings import COLOR_FIELDS, METHODS, embed_corpus

    methods = comma_choices(args.methods, "method", METHODS)
    r = embed_corpus(args.corpus, features=args.features, methods=methods,
                     color=comma_choices(args.color, "color", tuple(COLOR_FIELDS)), split=args.split, cache=args.cache,
                     out=args.out, seed=args.seed, compute=compute_from_args(args), progress=not args.quiet)
    print(f"embedded {r['notes']} notes ({args.features}, {r['dims']} dims) with {', '.join(methods)}; "
          f"maps in {args.out}")
    return 0
