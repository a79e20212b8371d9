// Plugin identity and the core policy live in Vocabulary (Registry shares them without depending on
// Plugins); every importer of Plugins keeps seeing them.
@_exported import Vocabulary
