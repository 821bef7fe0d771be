// Text of a PDF, page by page, with unpdf (a serverless build of Mozilla's PDF.js). Imported
// lazily: PDF.js is large and most processes never read a PDF.
import { PlinthError } from '../../errors.js';

export interface PdfText {
  pages: string[];
  title?: string;
}

export async function readPdf(data: Uint8Array): Promise<PdfText> {
  const { getDocumentProxy, extractText, getMeta } = await import('unpdf');
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // PDF.js takes ownership of the buffer it is given; hand it a copy.
    pdf = await getDocumentProxy(new Uint8Array(data), { verbosity: 0, isEvalSupported: false, useSystemFonts: false });
  } catch (err) {
    const name = (err as { name?: unknown }).name;
    const detail = name === 'PasswordException' ? 'the PDF is password-protected' : 'the file is not a readable PDF';
    throw new PlinthError('INVALID_DOCUMENT', `Cannot read the document: ${detail}.`, {}, { cause: err });
  }
  try {
    const { text } = await extractText(pdf, { mergePages: false });
    let title: string | undefined;
    try {
      const { info } = await getMeta(pdf);
      const t = (info as { Title?: unknown } | undefined)?.Title;
      if (typeof t === 'string' && t.trim()) title = t.trim();
    } catch {
      // Metadata is optional; a PDF with a broken info dictionary still has text.
    }
    return { pages: text, ...(title ? { title } : {}) };
  } catch (err) {
    throw new PlinthError('INVALID_DOCUMENT', 'Cannot read the document: the PDF text could not be extracted.', {}, { cause: err });
  } finally {
    await pdf.destroy();
  }
}
