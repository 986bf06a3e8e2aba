#!/usr/bin/env bash
# Applies the .editorconfig style to every project.
set -euo pipefail
cd "$(dirname "$0")"
dotnet format Bruno.slnx
