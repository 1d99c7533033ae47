// A scene is the full truth behind a layout line: every object's shape, colour, texture and box,
// in draw order (later objects are in front). A layout line is what the files and the model see.
import { parseExpression } from './grammar';
import { sizeOf } from './geometry';
import type { Box } from './geometry';
import type { Color, Shape, Size, Texture } from './vocab';

export interface SceneObject {
  shape: Shape;
  color: Color;
  texture: Texture;
  box: Box;
}

export interface Scene {
  objects: SceneObject[];
}

export interface LayoutObject {
  expr: string;
  box: Box;
}

export interface Layout {
  caption: string;
  objects: LayoutObject[];
}

export function sizeOfObject(o: { box: Box }): Size {
  return sizeOf(o.box);
}

/**
 * The scene a layout describes, as the renderer draws it: colour, shape and texture come from each
 * object's own expression (no texture word = plain), the size from its box, the order of the
 * objects is the draw order. Throws a RangeError naming the object when an expression names no
 * colour, since such an object cannot be drawn.
 */
export function sceneFromLayout(layout: Layout): Scene {
  return {
    objects: layout.objects.map((o, i) => {
      let target;
      try {
        target = parseExpression(o.expr).target;
      } catch (e) {
        throw new RangeError(`objects[${i}].expr: ${(e as Error).message}`);
      }
      if (target.color === undefined) {
        throw new RangeError(`objects[${i}].expr "${o.expr}" names no colour, so the object cannot be drawn`);
      }
      return { shape: target.shape, color: target.color, texture: target.texture, box: [o.box[0], o.box[1], o.box[2], o.box[3]] };
    }),
  };
}

/** The detector's class of an object: "<colour> <shape>". */
export function categoryOf(o: { color: Color; shape: Shape }): string {
  return `${o.color} ${o.shape}`;
}
