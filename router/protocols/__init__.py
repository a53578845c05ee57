"""One hand-written codec per wire family. A codec holds no provider name and no provider constant:
every variation reaches it through the ProviderConfig a generated adapter passes in."""
