# CPU-only build for node-gyp users (`npx node-gyp rebuild`): the same CPU and Node-API sources as
# CMakeLists.txt, no .cu files. The cmake-js build (npm install) is the real one.
{
  "targets": [{
    "target_name": "echogen",
    "sources": [
      "<!@(node -p \"require('fs').readdirSync('native/cpu').filter(f => f.endsWith('.cpp')).map(f => 'native/cpu/' + f).join(' ')\")",
      "<!@(node -p \"require('fs').readdirSync('native/napi').filter(f => f.endsWith('.cc')).map(f => 'native/napi/' + f).join(' ')\")"
    ],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native/include", "native"],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "ECHOGEN_AVX2=1"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
    "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fexceptions", "-fno-math-errno", "-mavx2", "-mfma", "-mf16c"]
  }]
}
