/**
 * How much disk a set of built images takes. The engine reports an image's size with the
 * layers of every image below it; with the parent links of the whole image graph, each image
 * adds its size less its parent's. Images of one build chain share their lower layers, and
 * builds of one service share the steps the layer cache reused: each is counted once. Layers
 * below the first image that is not this daemon's (a base image) are not counted.
 */
export interface ImageNode {
  readonly id: string;
  readonly parentId?: string;
  /** Bytes, the parents' layers included (the engine's `Size`). */
  readonly size: number;
  readonly labels: Readonly<Record<string, string>>;
}

export interface Footprint {
  /** The images (tops and their own ancestors) whose layers were counted. */
  readonly layers: ReadonlySet<string>;
  readonly bytes: number;
}

/** The images `tops` stand on, from each top down to the first image that is not `owned`. */
export function footprint(
  tops: Iterable<string>,
  graph: ReadonlyMap<string, ImageNode>,
  owned: (node: ImageNode) => boolean,
): Footprint {
  const layers = new Set<string>();
  let bytes = 0;
  for (const top of tops) {
    let node = graph.get(top);
    while (node && owned(node) && !layers.has(node.id)) {
      layers.add(node.id);
      const parent = node.parentId === undefined ? undefined : graph.get(node.parentId);
      bytes += Math.max(0, node.size - (parent?.size ?? 0));
      node = parent;
    }
  }
  return { layers, bytes };
}
