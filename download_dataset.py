"""Downloads the ISBI 2012 EM segmentation challenge files into --data_dir.

    python download_dataset.py --data_dir ./data/isbi2012

Each file is streamed to a temporary name, checked (a readable multi-page TIFF of
512x512 pages), then renamed into place, so an interrupted download never leaves a
truncated file under the real name. Files already present and valid are skipped.
Exit code 0 when all three files are in place, 1 when a download failed.
"""
import argparse
import os
import sys
import time

DEFAULT_BASE_URL = 'http://brainiac2.mit.edu/isbi_challenge/sites/default/files/'
FILES = ('train-volume.tif', 'train-labels.tif', 'test-volume.tif')
EXPECTED_PAGE_SHAPE = (512, 512)
CHUNK_BYTES = 1 << 20


class DownloadError(Exception):
    """A file could not be fetched or is not what the challenge publishes."""


def verify(path):
    """Raises DownloadError unless `path` is a TIFF of 512x512 pages. Returns the page count."""
    from utils.errors import DatasetError
    from utils.tiff_io import read_stack
    try:
        stack = read_stack(path)
    except DatasetError as err:
        raise DownloadError(str(err)) from err
    if stack.shape[1:] != EXPECTED_PAGE_SHAPE:
        raise DownloadError(f'{path}: pages are {stack.shape[1]}x{stack.shape[2]}, '
                            f'expected {EXPECTED_PAGE_SHAPE[0]}x{EXPECTED_PAGE_SHAPE[1]}')
    return stack.shape[0]


def fetch(url, path, session, retries, timeout, backoff_seconds):
    """Streams `url` into `path` atomically, retrying connection failures with back-off."""
    import requests
    partial = path + '.part'
    for attempt in range(1, retries + 1):
        try:
            with session.get(url, stream=True, timeout=timeout) as response:
                if response.status_code == 404:
                    raise DownloadError(f'{url}: not found (HTTP 404)')
                response.raise_for_status()
                expected = response.headers.get('Content-Length')
                written = 0
                with open(partial, 'wb') as out:
                    for chunk in response.iter_content(CHUNK_BYTES):
                        out.write(chunk)
                        written += len(chunk)
                if expected is not None and written != int(expected):
                    raise requests.exceptions.ChunkedEncodingError(
                        f'received {written} of {expected} bytes')
            verify(partial)
            os.replace(partial, path)
            return
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError) as err:
            if os.path.exists(partial):
                os.remove(partial)
            if attempt == retries:
                raise DownloadError(f'{url}: failed after {retries} attempts ({err}); '
                                    'check the network, or copy the files into '
                                    f'{os.path.dirname(path)} by hand') from err
            time.sleep(backoff_seconds * 2 ** (attempt - 1))
        except requests.exceptions.HTTPError as err:
            raise DownloadError(f'{url}: {err}') from err
        except DownloadError:
            if os.path.exists(partial):
                os.remove(partial)
            raise


def download(data_dir, base_url=DEFAULT_BASE_URL, retries=3, timeout=30.0, backoff_seconds=1.0):
    """Fetches every missing or invalid file; returns the names actually downloaded."""
    import requests
    os.makedirs(data_dir, exist_ok=True)
    fetched = []
    with requests.Session() as session:
        for name in FILES:
            path = os.path.join(data_dir, name)
            if os.path.exists(path):
                try:
                    verify(path)
                    continue
                except DownloadError:
                    pass  # Present but damaged: fetch it again (the rename replaces it).
            fetch(base_url.rstrip('/') + '/' + name, path, session, retries, timeout,
                  backoff_seconds)
            fetched.append(name)
    return fetched


def main(argv=None):
    parser = argparse.ArgumentParser(description='Download the ISBI 2012 challenge data.')
    parser.add_argument('--data_dir', required=True, help='Directory to write the TIFFs to')
    parser.add_argument('--base_url', default=DEFAULT_BASE_URL,
                        help='Where the three files are served (a mirror, say)')
    parser.add_argument('--retries', type=int, default=3,
                        help='Attempts per file on connection errors and timeouts')
    parser.add_argument('--timeout', type=float, default=30.0,
                        help='Seconds to wait for the server on each connect and read')
    args = parser.parse_args(argv)
    if args.retries < 1:
        parser.error(f'--retries must be >= 1, got {args.retries}')
    if args.timeout <= 0:
        parser.error(f'--timeout must be > 0, got {args.timeout}')
    try:
        fetched = download(args.data_dir, args.base_url, args.retries, args.timeout)
    except DownloadError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    skipped = [name for name in FILES if name not in fetched]
    print(f'{args.data_dir}: downloaded {", ".join(fetched) or "nothing"}; '
          f'already present: {", ".join(skipped) or "none"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
