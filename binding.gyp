# CPU-only build for node-gyp users (`npx node-gyp rebuild`): the same CPU and Node-API sources as
# CMakeLists.txt with the same numerics flags, target for target, and no .cu files. The cmake-js
# build (npm install) is the real one.
#   echogen_cpu:   native/cpu/*.cpp but boxes.cpp - -O3 -fno-math-errno -mavx2 -mfma -mf16c (CMake's echogen_cpu)
#   echogen_boxes: native/cpu/boxes.cpp - the same plus -ffp-contract=off, as CMake sets on that file only
#                  (the reward loop's vector body and scalar tail must round alike; see CMakeLists.txt)
#   echogen:       native/napi/*.cc - -O2 (CMake's addon target), linked with both libraries
{
  "target_defaults": {
    "include_dirs": ["native/include", "native"],
    "defines": ["ECHOGEN_AVX2=1"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"]
  },
  "targets": [{
    "target_name": "echogen_cpu",
    "type": "static_library",
    "sources": [
      "<!@(node -p \"require('fs').readdirSync('native/cpu').filter(f => f.endsWith('.cpp') && f !== 'boxes.cpp').map(f => 'native/cpu/' + f).join(' ')\")"
    ],
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno", "-mavx2", "-mfma", "-mf16c"]
  }, {
    "target_name": "echogen_boxes",
    "type": "static_library",
    "sources": ["native/cpu/boxes.cpp"],
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno", "-mavx2", "-mfma", "-mf16c", "-ffp-contract=off"]
  }, {
    "target_name": "echogen",
    "dependencies": ["echogen_cpu", "echogen_boxes"],
    "sources": [
      "<!@(node -p \"require('fs').readdirSync('native/napi').filter(f => f.endsWith('.cc')).map(f => 'native/napi/' + f).join(' ')\")"
    ],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
    "cflags_cc": ["-std=c++17", "-O2", "-fexceptions"],
    "ldflags": ["-pthread"]
  }]
}
