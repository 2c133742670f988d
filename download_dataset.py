"""Downloads the ISBI 2012 EM segmentation challenge files into --data_dir.

    python download_dataset.py --data_dir ./data/isbi2012

Each file is streamed to `<name>.part`, checked, then renamed into place, so an interrupted
download never leaves a truncated file under the real name. A connection that breaks or
stalls is retried with exponential back-off, resuming the partial file where the server
accepts byte ranges (also across runs: an earlier run's `.part` file is continued). Files
already present and valid are skipped.

The check: a readable TIFF of 30 pages of 512x512 whose decoded 8-bit pixels have the
SHA-256 recorded below. The pixels, not the file's bytes, are hashed: copies of the challenge
data differ in their TIFF tags but not in their pixels.
Exit code 0 when all three files are in place, 1 when one could not be fetched or checked.
"""
import argparse
import dataclasses
import hashlib
import os
import re
import sys
import time

DEFAULT_BASE_URL = 'http://brainiac2.mit.edu/isbi_challenge/sites/default/files/'
CHUNK_BYTES = 1 << 16
"""Written as they arrive: a broken connection loses at most this much of the partial file."""


@dataclasses.dataclass(frozen=True)
class FileSpec:
    """What a downloaded file must be. pixels_sha256 None: any pixels."""
    pages: int
    page_shape: tuple
    pixels_sha256: str = None


CHALLENGE = {
    'train-volume.tif': FileSpec(
        30, (512, 512), '200da3d452d726e6c9ca1ce04b869d4edb727320d23b516d01cce707dc8c4760'),
    'train-labels.tif': FileSpec(
        30, (512, 512), 'a7cb64000a1a7e542682927e19c91339f58f9f178e0bcce4e207371116f0ca36'),
    'test-volume.tif': FileSpec(
        30, (512, 512), '1b58fa7ec1d0ff9d39a855622db3ff66a97863036339b0d04be51b2f5a99b0e9'),
}
"""The challenge's files; the digests were taken of the data in ../shared/data/isbi2012."""


class DownloadError(Exception):
    """A file could not be fetched or is not what the challenge publishes."""


class _Retry(Exception):
    """A failure worth another attempt: a broken, stalled or refused transfer."""


def pixels_sha256(stack):
    return hashlib.sha256(stack.tobytes()).hexdigest()


def verify(path, spec):
    """Raises DownloadError unless `path` is a TIFF matching `spec`."""
    from utils.runtime.errors import DatasetError
    from utils.data.tiff_io import read_stack
    try:
        stack = read_stack(path)
    except DatasetError as err:
        raise DownloadError(str(err)) from err
    if stack.shape[1:] != tuple(spec.page_shape):
        raise DownloadError(f'{path}: pages are {stack.shape[1]}x{stack.shape[2]}, expected '
                            f'{spec.page_shape[0]}x{spec.page_shape[1]}')
    if stack.shape[0] != spec.pages:
        raise DownloadError(f'{path}: {stack.shape[0]} pages, expected {spec.pages}')
    if spec.pixels_sha256 is not None and pixels_sha256(stack) != spec.pixels_sha256:
        raise DownloadError(f'{path}: pixels differ from the challenge data (SHA-256 '
                            f'{pixels_sha256(stack)[:16]}..., expected '
                            f'{spec.pixels_sha256[:16]}...); --skip_checksum accepts them')


def fetch(url, partial, session, retries, timeout, backoff_seconds, say=print):
    """Streams `url` into the file `partial`, resuming what it holds where the server allows.

    Raises:
        DownloadError: not found or refused (at once), or every attempt failed; `partial`
            is then kept for the next run to resume.
    """
    import requests
    failure = None
    for attempt in range(1, retries + 1):
        if attempt > 1:
            time.sleep(backoff_seconds * 2 ** (attempt - 2))
        try:
            _transfer(url, partial, session, timeout, say)
            return
        except _Retry as err:
            failure = str(err)
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError) as err:
            failure = _describe(err, timeout)
        say(f'{url}: attempt {attempt} of {retries} failed: {failure}')
    kept = (f'; {os.path.getsize(partial)} bytes kept in {partial} for a resume'
            if os.path.exists(partial) and os.path.getsize(partial) else '')
    raise DownloadError(f'{url}: {failure} after {retries} attempts{kept}; check the network, '
                        f'or copy the files into {os.path.dirname(partial)} by hand')


def _transfer(url, partial, session, timeout, say):
    """One attempt: appends to `partial` when the server honours the range, else rewrites it."""
    offset = os.path.getsize(partial) if os.path.exists(partial) else 0
    headers = {'Range': f'bytes={offset}-'} if offset else {}
    with session.get(url, stream=True, timeout=timeout, headers=headers) as response:
        status = response.status_code
        if status == 404:
            raise DownloadError(f'{url}: not found (HTTP 404)')
        if status == 416:  # The partial file is not a prefix of this one: start over.
            os.remove(partial)
            raise _Retry('the server refused to resume (HTTP 416)')
        if status >= 500:
            raise _Retry(f'HTTP {status} {response.reason}')
        if status not in (200, 206):
            raise DownloadError(f'{url}: HTTP {status} {response.reason}')
        resumed = status == 206
        if resumed and _range_start(response) != offset:
            os.remove(partial)
            raise _Retry(f'the server sent another range than bytes {offset}-')
        if offset and resumed:
            say(f'{url}: resuming at byte {offset}')
        length = response.headers.get('Content-Length')
        total = int(length) + (offset if resumed else 0) if length is not None else None
        with open(partial, 'ab' if resumed else 'wb') as out:
            for chunk in response.iter_content(CHUNK_BYTES):
                out.write(chunk)
    received = os.path.getsize(partial)
    if total is not None and received != total:
        raise _Retry(f'connection closed after {received} of {total} bytes')


def _range_start(response):
    """The first byte of a 206 response's Content-Range ('bytes 100-199/200'), or None."""
    value = response.headers.get('Content-Range', '')
    try:
        return int(value.split()[1].split('-')[0])
    except (IndexError, ValueError):
        return None


def _describe(err, timeout):
    """A short reason for a requests error, whose text nests urllib3's and the socket's."""
    import requests
    text = str(err)
    if isinstance(err, requests.exceptions.Timeout) or 'timed out' in text:
        return f'no data for {timeout:g} s (--timeout)'
    incomplete = re.search(r'IncompleteRead\((\d+) bytes read, (\d+) more expected', text)
    if incomplete:
        return (f'connection closed after {incomplete[1]} bytes of the response, '
                f'{incomplete[2]} more expected')
    errno = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    return f'cannot connect ({errno[1]})' if errno else f'connection failed ({type(err).__name__})'


def download(data_dir, base_url=DEFAULT_BASE_URL, specs=None, retries=3, timeout=30.0,
             backoff_seconds=1.0, say=print):
    """Fetches every missing or invalid file of `specs` ({name: FileSpec}, the challenge's
    by default); returns the names actually downloaded."""
    import requests
    specs = CHALLENGE if specs is None else specs
    os.makedirs(data_dir, exist_ok=True)
    fetched = []
    with requests.Session() as session:
        for name, spec in specs.items():
            path = os.path.join(data_dir, name)
            if os.path.exists(path):
                try:
                    verify(path, spec)
                    continue
                except DownloadError as err:
                    say(f'{err}: fetching it again')  # The rename replaces it when good.
            partial = path + '.part'
            fetch(base_url.rstrip('/') + '/' + name, partial, session, retries, timeout,
                  backoff_seconds, say)
            try:
                verify(partial, spec)
            except DownloadError as err:
                os.remove(partial)
                raise DownloadError(f'{err} (downloaded from {base_url}; removed)') from None
            os.replace(partial, path)
            fetched.append(name)
    return fetched


def main(argv=None):
    parser = argparse.ArgumentParser(description='Download the ISBI 2012 challenge data.')
    parser.add_argument('--data_dir', required=True, help='Directory to write the TIFFs to')
    parser.add_argument('--base_url', default=DEFAULT_BASE_URL,
                        help='Where the three files are served (a mirror, say)')
    parser.add_argument('--retries', type=int, default=3,
                        help='Attempts per file on broken connections, timeouts and HTTP 5xx')
    parser.add_argument('--timeout', type=float, default=30.0,
                        help='Seconds to wait for the server to connect or send more data')
    parser.add_argument('--skip_checksum', action='store_true',
                        help='Accept files whose pixels differ from the recorded SHA-256 '
                             '(pages and page size are still checked)')
    args = parser.parse_args(argv)
    if args.retries < 1:
        parser.error(f'--retries must be >= 1, got {args.retries}')
    if args.timeout <= 0:
        parser.error(f'--timeout must be > 0, got {args.timeout}')
    specs = CHALLENGE
    if args.skip_checksum:
        specs = {name: dataclasses.replace(spec, pixels_sha256=None)
                 for name, spec in CHALLENGE.items()}
    try:
        fetched = download(args.data_dir, args.base_url, specs, args.retries, args.timeout,
                           say=lambda text: print(text, file=sys.stderr))
    except DownloadError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    skipped = [name for name in specs if name not in fetched]
    print(f'{args.data_dir}: downloaded {", ".join(fetched) or "nothing"}; '
          f'already present: {", ".join(skipped) or "none"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
