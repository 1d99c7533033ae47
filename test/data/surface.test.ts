// The world is reachable from the package's public surface as eg.data and eg.eval.
import * as eg from '../../lib';

test('eg.data and eg.eval expose the world, the detector and the measures', () => {
  expect(eg.data.VOCAB).toContain('triangle');
  expect(typeof eg.data.generateScenes).toBe('function');
  expect(typeof eg.data.renderScene).toBe('function');
  expect(typeof eg.data.readLayouts).toBe('function');
  expect(typeof eg.eval.detect).toBe('function');
  expect(typeof eg.eval.cocoAp).toBe('function');
  expect(typeof eg.eval.groundingAccuracy).toBe('function');
  expect(typeof eg.eval.compositionalAccuracy).toBe('function');
  const s = eg.data.generateScenes(1, 'test', 1)[0];
  expect(eg.eval.detect(eg.data.renderScene(s.scene)).detections).toHaveLength(s.scene.objects.length);
});
