// Shared scripts live beside this file.
